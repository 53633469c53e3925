const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const CR_ONLY = Buffer.from([CR]);

const enum State {
  /** Just after CRLF: a dot here is stuffing or the start of the end marker. */
  LineStart = 0,
  /** Inside a line. */
  Mid = 1,
  /** A dot at line start was seen. */
  Dot = 2,
  /** A dot then CR at line start were seen. */
  DotCr = 3,
}

/** Receives message octets after dot-unstuffing; the chunk may be a view of the socket's buffer. */
export type OctetSink = (chunk: Buffer) => void;

/**
 * The DATA reader (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and finds the end of the
 * message. Only CRLF "." CRLF ends it: a bare LF or bare CR before the dot never does, which
 * closes the SMTP smuggling class of bugs. Octets are counted as they stream and never held.
 */
export class DataReader {
  private state: State = State.LineStart;
  private lastWasCr = false;
  private lineLength = 0;
  /** Octets of message content so far (after unstuffing). */
  size = 0;
  /** True once a line went past `maxLineLength`. */
  lineTooLong = false;
  /** True once `size` went past `maxSize`; octets past it are not passed on. */
  tooBig = false;
  /** Lines ended so far: how the connection sees a slow client make progress (the per-record deadline). */
  lines = 0;

  constructor(
    private readonly maxSize: number,
    private readonly maxLineLength: number,
    private readonly sink: OctetSink | undefined,
  ) {}

  /**
   * Consumes message octets from `chunk` at `pos`. Returns the offset just past the end marker
   * when the message ended in this chunk, or -1 when every octet was consumed.
   */
  consume(chunk: Buffer, pos: number): number {
    const end = chunk.length;
    const first = pos;
    let segment = pos;
    while (pos < end) {
      switch (this.state) {
        case State.LineStart: {
          if (chunk[pos] === DOT) {
            this.emit(chunk, segment, pos);
            pos++;
            this.lineLength++;
            segment = pos;
            this.state = State.Dot;
          } else {
            this.state = State.Mid;
          }
          break;
        }
        case State.Dot: {
          if (chunk[pos] === CR) {
            pos++;
            this.lineLength++;
            segment = pos;
            this.state = State.DotCr;
          } else {
            // A stuffed dot: it was dropped, the rest of the line is content.
            this.state = State.Mid;
          }
          break;
        }
        case State.DotCr: {
          if (chunk[pos] === LF) {
            this.reset();
            return pos + 1;
          }
          // ".<CR>x" is not the end: the CR is content (which this reader had held back).
          this.emit(CR_ONLY, 0, 1);
          this.lastWasCr = true;
          this.state = State.Mid;
          break;
        }
        default: {
          const lf = chunk.indexOf(LF, pos);
          if (lf < 0) {
            this.lineLength += end - pos;
            pos = end;
            break;
          }
          this.lineLength += lf + 1 - pos;
          if (this.lineLength > this.maxLineLength) this.lineTooLong = true;
          this.lineLength = 0;
          this.lines++;
          const crlf = lf > first ? chunk[lf - 1] === CR : this.lastWasCr;
          pos = lf + 1;
          this.state = crlf ? State.LineStart : State.Mid;
        }
      }
    }
    if (this.lineLength > this.maxLineLength) this.lineTooLong = true;
    this.emit(chunk, segment, end);
    if (end > first) this.lastWasCr = chunk[end - 1] === CR;
    return -1;
  }

  /** True while part of a line is in but not its end. */
  get midLine(): boolean {
    return this.lineLength > 0 || this.state === State.Dot || this.state === State.DotCr;
  }

  private emit(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n <= 0) return;
    this.size += n;
    if (this.tooBig) return;
    if (this.size > this.maxSize) {
      this.tooBig = true;
      // The octets up to the limit still go out: a hook deciding on the message sees it cut exactly there.
      const room = n - (this.size - this.maxSize);
      if (room > 0 && this.sink !== undefined) this.sink(chunk.subarray(from, from + room));
      return;
    }
    if (this.sink !== undefined) this.sink(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
  }

  private reset(): void {
    this.state = State.LineStart;
    this.lastWasCr = false;
    this.lineLength = 0;
  }
}
