/**
 * @mailhole/core: a real SMTP/ESMTP sink for tests.
 *
 * @example
 * import { startSink } from '@mailhole/core';
 * const sink = await startSink();
 * // point the code under test at sink.host / sink.port, send, then:
 * await sink.waitFor(1);
 * await sink.close();
 */
export { startSink, Sink } from './server/sink.js';
export type { StartOptions, TlsFault, ClientTlsSettings } from './server/sink.js';
export type { SinkOptions, TlsMode, CaptureLevel, CertificateInput } from './server/options.js';
export { WaitTimeoutError, describeRecord } from './record/recorder.js';
export type {
  SinkStats,
  Mark,
  DeliveryFilter,
  DeliveryPredicate,
  WaitTarget,
  WaitOptions,
  SessionEnd,
} from './record/recorder.js';
export type { DeliveryRecord, ReplyRecord } from './record/records.js';
export { CapturedMessage } from './record/parsed.js';
export type { ParsedMessage, ParsedMessageJson, ParsedAttachment, MailAddress } from './record/parsed.js';
export { connectSink, RemoteSink, RemoteSinkView, RemoteError } from './control/remote.js';
export type { ConnectOptions } from './control/remote.js';
export type { ControlApiOptions } from './control/api.js';
export type { SinkInfo } from './control/target.js';
export { SinkView } from './record/view.js';
export type { ViewScope, SinkAddress } from './record/view.js';
export { reply, formatReply, replyToString } from './protocol/reply.js';
export type { Reply } from './protocol/reply.js';
export type {
  Stage,
  StageContext,
  Decision,
  StagePolicy,
  FiredFault,
  TlsInfo,
  BodyType,
  AuthProvider,
  SaslExchange,
  SaslStep,
} from './protocol/types.js';
export { FaultRules, FaultRuleError, faultRule } from './behaviour/faults.js';
export type {
  FaultRule,
  FaultMatch,
  FaultAction,
  FaultRuleInfo,
  FaultFiring,
  FaultHandle,
  FailNextOptions,
  BounceRecipientOptions,
  GreylistOptions,
} from './behaviour/faults.js';
export type { AddressPattern } from './behaviour/patterns.js';
export type { BehaviourOptions, ListenerBehaviour, ListenerName } from './behaviour/options.js';
export type { Mode } from './behaviour/modes.js';
export type { DelayOption, DelayRange, StageName } from './behaviour/delays.js';
export type { AuthOptions, AuthMechanism } from './behaviour/auth.js';
export { bounceReplies } from './behaviour/replies.js';
export { testCertificate, faultCertificate, writeCaFile, defaultCacheDir } from './tls/certificates.js';
export type { ServerCertificate, CertificateFault, CertificateOptions } from './tls/certificates.js';
