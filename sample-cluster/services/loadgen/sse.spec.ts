import { describe, expect, it } from 'vitest';
import { isTweetEvent, SseParser } from './sse.ts';

describe('SseParser', () => {
  const stream = ': hello\n\nevent: tweet\nid: 7\ndata: {"id":"t1",\ndata: "text":"hi"}\n\ndata: plain\n\n';

  it('yields whole events and skips comments', () => {
    const events = new SseParser().feed(stream);
    expect(events).toEqual([
      { event: 'tweet', data: '{"id":"t1",\n"text":"hi"}', id: '7' },
      { event: 'message', data: 'plain', id: '7' },
    ]);
  });

  it('gives the same events however the bytes are split, with any line ending', () => {
    const expected = new SseParser().feed(stream);
    for (const ending of ['\n', '\r\n', '\r']) {
      const text = stream.replaceAll('\n', ending);
      for (let size = 1; size <= 7; size++) {
        const parser = new SseParser();
        const got = [];
        for (let i = 0; i < text.length; i += size) got.push(...parser.feed(text.slice(i, i + size)));
        expect(got, `ending ${JSON.stringify(ending)}, chunks of ${size}`).toEqual(expected);
      }
    }
  });

  it('keeps an unfinished event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.feed('event: tweet\ndata: x\n')).toEqual([]);
    expect(parser.feed('\n')).toEqual([{ event: 'tweet', data: 'x', id: undefined }]);
  });
});

describe('isTweetEvent', () => {
  it('counts tweet events and tweet-shaped messages, not heartbeats', () => {
    expect(isTweetEvent({ event: 'tweet', data: '{}', id: undefined })).toBe(true);
    expect(isTweetEvent({ event: 'tweet.posted', data: '{}', id: undefined })).toBe(true);
    expect(
      isTweetEvent({ event: 'message', data: '{"id":"1","text":"hi","author":"a"}', id: undefined }),
    ).toBe(true);
    expect(isTweetEvent({ event: 'message', data: 'keepalive', id: undefined })).toBe(false);
    expect(isTweetEvent({ event: 'ping', data: '{"text":"x"}', id: undefined })).toBe(false);
    expect(isTweetEvent({ event: 'ready', data: '{}', id: undefined })).toBe(false);
  });
});
