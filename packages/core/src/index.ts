/**
 * @mailhole/core: a real SMTP/ESMTP sink for tests.
 *
 * @example
 * import { startSink } from '@mailhole/core';
 * const sink = await startSink();
 * // point the code under test at sink.host / sink.port, send, then:
 * await sink.waitFor(1);
 * await sink.close();
 *
 * This entry is what a test author uses. Plumbing for test-runner adapters (a shared sink started
 * once with its env published, the matcher checks) is in `@mailhole/core/adapter`.
 */

export type { AuthMechanism, AuthOptions } from './behaviour/auth.js';
export type { DelayOption, DelayRange, StageName } from './behaviour/delays.js';
export type { SinkFaultHandle, SinkFaults } from './behaviour/fault-api.js';
export type {
  BounceRecipientOptions,
  FailNextOptions,
  FaultAction,
  FaultFiring,
  FaultHandle,
  FaultMatch,
  FaultRule,
  FaultRuleInfo,
  GreylistOptions,
} from './behaviour/faults.js';
export { FaultRuleError, FaultRules, faultRule } from './behaviour/faults.js';
export type {
  HookAddress,
  HookMessageInfo,
  HookReply,
  HookResult,
  HookSession,
  SinkHooks,
} from './behaviour/hooks.js';
export type { Mode } from './behaviour/modes.js';
export type { BehaviourOptions, ListenerBehaviour, ListenerName } from './behaviour/options.js';
export type { AddressPattern } from './behaviour/patterns.js';
export type {
  BlocklistAction,
  BlocklistOptions,
  BlocklistRestriction,
  PresetAction,
  PresetRuleOptions,
  ProviderPreset,
  ProviderPresetName,
  Rejection,
} from './behaviour/presets/index.js';
export type { RejectionCatalogue } from './behaviour/replies.js';
export { bounceReplies } from './behaviour/replies.js';
export type { CredentialCheck } from './behaviour/sasl.js';
export {
  cramMd5Digest,
  decodeCramMd5,
  decodePlain,
  decodeXoauth2,
  saslExchange,
} from './behaviour/sasl.js';
export type { ControlApiOptions } from './control/api.js';
export { UnauthenticatedApiError } from './control/api.js';
export type { ConnectOptions } from './control/remote.js';
export { connectSink, RemoteError, RemoteSink, RemoteSinkView } from './control/remote.js';
export type { RemoteFaultHandle } from './control/remote-faults.js';
export { RemoteFaultRules } from './control/remote-faults.js';
export type { SinkInfo } from './control/target.js';
export type { EsmtpParameter } from './protocol/address.js';
export type { Reply } from './protocol/reply.js';
export { formatReply, reply, replyToString } from './protocol/reply.js';
export type { SessionSnapshot } from './protocol/session.js';
export type { ReplyClass } from './protocol/status.js';
export { classifyReply } from './protocol/status.js';
export type {
  AuthProvider,
  BodyType,
  Decision,
  FiredFault,
  Recipient,
  SaslCredentials,
  SaslExchange,
  SaslStep,
  Stage,
  StageContext,
  StagePolicy,
  TlsInfo,
  Transaction,
} from './protocol/types.js';
export type { LocalMailSource, MailSource, ReceiveOptions, RemoteMailSource } from './record/assertions.js';
export type { MailboxMessage, MailboxOptions, MailboxSource, MessageQuery } from './record/mailbox.js';
export { createMailbox, Mailbox } from './record/mailbox.js';
export type { CodeOptions, LinkQuery, MessageBodies, MessageHelpers } from './record/message-content.js';
export { messageCodes, messageLink, messageLinks } from './record/message-content.js';
export type { MailAddress, ParsedAttachment, ParsedMessage, ParsedMessageJson } from './record/parsed.js';
export { CapturedMessage } from './record/parsed.js';
export type { Live, Reach, Read } from './record/reach.js';
export type {
  DeliveryFilter,
  DeliveryPredicate,
  Mark,
  SessionEnd,
  SinkStats,
  WaitOptions,
  WaitTarget,
} from './record/recorder.js';
export { describeRecord } from './record/recorder.js';
export type { DeliveryRecord, ReplyRecord } from './record/records.js';
export type {
  SessionTranscriptRecord,
  TranscriptEntry,
  TranscriptOptions,
} from './record/transcript.js';
export { DEFAULT_WAIT_MS, WaitTimeoutError } from './record/wait.js';
export type { MailSink, MailSinkView, SinkAddress, ViewScope } from './server/mail-sink.js';
export type { CaptureLevel, CertificateInput, SinkOptions, TlsMode } from './server/options.js';
export type { DropMode, LiveSession } from './server/sessions.js';
export type {
  ClientTlsOverrides,
  ClientTlsSettings,
  EngineOptions,
  SinkEvent,
  SinkEventMap,
  TlsFault,
} from './server/sink.js';
export { Sink } from './server/sink.js';
export { SinkAddressOf, SinkView } from './server/view.js';
export type { StartOptions } from './start.js';
export { startSink } from './start.js';
export type { CertificateFault, CertificateOptions, ServerCertificate } from './tls/certificates.js';
export { defaultCacheDir, faultCertificate, testCertificate, writeCaFile } from './tls/certificates.js';
