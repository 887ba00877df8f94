export interface ServerSentEvent {
  /** "message" when the server named none. */
  readonly event: string;
  readonly data: string;
  readonly id: string | undefined;
}

/**
 * Incremental parser of the text/event-stream format (WHATWG HTML §9.2.6): feed it chunks as they
 * arrive, in any split, and get whole events back. Comments (heartbeats) yield nothing.
 */
export class SseParser {
  #buffer = '';
  #event = '';
  #data: string[] = [];
  #id: string | undefined;
  #hasData = false;
  #skipLeadingNewline = false;

  feed(chunk: string): ServerSentEvent[] {
    const events: ServerSentEvent[] = [];
    let text = this.#buffer + chunk;
    // A CR that ended the previous chunk may be the first half of a CRLF.
    if (this.#skipLeadingNewline && text.startsWith('\n')) text = text.slice(1);
    this.#skipLeadingNewline = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c !== '\n' && c !== '\r') continue;
      const line = text.slice(start, i);
      if (c === '\r') {
        if (i + 1 < text.length) {
          if (text[i + 1] === '\n') i++;
        } else {
          this.#skipLeadingNewline = true;
        }
      }
      start = i + 1;
      const event = this.#line(line);
      if (event) events.push(event);
    }
    this.#buffer = text.slice(start);
    return events;
  }

  #line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      if (!this.#hasData) {
        this.#event = '';
        return undefined;
      }
      const event = { event: this.#event || 'message', data: this.#data.join('\n'), id: this.#id };
      this.#event = '';
      this.#data = [];
      this.#hasData = false;
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#event = value;
    else if (field === 'data') {
      this.#data.push(value);
      this.#hasData = true;
    } else if (field === 'id' && !value.includes('\0')) this.#id = value;
    return undefined;
  }
}

const CONTROL_EVENTS = new Set(['ping', 'heartbeat', 'keepalive', 'hello', 'ready', 'connected', 'open']);

/**
 * Whether an event carries a tweet. The stream's own vocabulary belongs to the realtime service, so
 * this accepts the plausible shapes: an event named for tweets, or a message whose JSON has a text.
 */
export function isTweetEvent(event: ServerSentEvent): boolean {
  const name = event.event.toLowerCase();
  if (CONTROL_EVENTS.has(name)) return false;
  if (name.includes('tweet')) return true;
  if (name !== 'message') return false;
  try {
    const body = JSON.parse(event.data) as { text?: unknown; tweet?: unknown } | null;
    return (
      typeof body === 'object' &&
      body !== null &&
      (typeof body.text === 'string' || typeof body.tweet === 'object')
    );
  } catch {
    return false;
  }
}
