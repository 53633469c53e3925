/**
 * Every way to write "<line end>.<line end>" with a bare CR or bare LF on either side (RFC 5321
 * §4.1.1.4 ends data only at CRLF.CRLF): a receiver that ends the message at any of them lets a
 * second, forged message in. Shared by the property tests and the hostile-input suite.
 */
export const smugglingMarkers: readonly string[] = [
  '\n.\n',
  '\n.\r\n',
  '\r.\r\n',
  '\r\n.\n',
  '\r\n.\r',
  '\r.\n',
  '\n.\r',
  '\r.\r',
];
