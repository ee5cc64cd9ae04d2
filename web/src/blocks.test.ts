import { describe, expect, it } from 'vitest';
import { BlockBook, parseBlockList } from './blocks';

describe('parseBlockList', () => {
  it('reads the users of the answer', () => {
    expect(parseBlockList({ users: ['bob', 'carol'] })).toEqual(['bob', 'carol']);
    expect(parseBlockList({ users: [] })).toEqual([]);
  });
  it('skips what is not a user id, and refuses what is not an answer', () => {
    expect(parseBlockList({ users: ['bob', 3, '', null] })).toEqual(['bob']);
    expect(parseBlockList(null)).toBeNull();
    expect(parseBlockList(['bob'])).toBeNull();
    expect(parseBlockList({ blocks: ['bob'] })).toBeNull();
  });
});

describe('BlockBook', () => {
  it('starts unknown, then follows the fetched list', () => {
    const b = new BlockBook();
    expect(b.loaded).toBe(false);
    expect(b.state('bob')).toBe('none');
    expect(b.fetched(b.begin(), ['bob'])).toBe(true);
    expect(b.loaded).toBe(true);
    expect(b.state('bob')).toBe('blocking');
    expect(b.state('carol')).toBe('none');
    expect(b.state(null)).toBe('none');
    expect(b.fetched(b.begin(), ['bob'])).toBe(false); // nothing new
    expect(b.fetched(b.begin(), [])).toBe(true);
    expect(b.blocks('bob')).toBe(false);
  });

  it('a block or unblock is kept against an answer that predates it', () => {
    const b = new BlockBook();
    const early = b.begin(); // GET on its way
    b.set('bob', true); // 204 meanwhile
    b.fetched(early, []); // the answer does not know it yet
    expect(b.blocks('bob')).toBe(true);

    const early2 = b.begin();
    b.set('bob', false);
    b.fetched(early2, ['bob']);
    expect(b.blocks('bob')).toBe(false);
  });

  it('an answer that began after a change is the truth (another device undid it)', () => {
    const b = new BlockBook();
    b.set('bob', true);
    b.fetched(b.begin(), []);
    expect(b.blocks('bob')).toBe(false);
  });

  it('an answer older than one already applied is dropped', () => {
    const b = new BlockBook();
    const first = b.begin();
    const second = b.begin();
    b.fetched(second, ['carol']);
    expect(b.fetched(first, ['bob'])).toBe(false);
    expect(b.list()).toEqual(['carol']);
  });

  it('keeps the set current across several changes', () => {
    const b = new BlockBook();
    b.fetched(b.begin(), ['dave']);
    b.set('bob', true);
    b.set('carol', true);
    b.set('dave', false);
    expect(b.list()).toEqual(['bob', 'carol']);
  });

  it('a refused send means the other member blocks me, until a send goes through or they write', () => {
    const b = new BlockBook();
    b.fetched(b.begin(), []);
    expect(b.refused('bob')).toBe(true);
    expect(b.refused('bob')).toBe(false);
    expect(b.state('bob')).toBe('refused');
    expect(b.accepted('bob')).toBe(true);
    expect(b.state('bob')).toBe('none');
    expect(b.accepted('bob')).toBe(false);
  });

  it('my own block wins over a refusal, and explains it', () => {
    const b = new BlockBook();
    b.refused('bob');
    // My block made on another device: the next list shows it, and the refusal was mine.
    expect(b.fetched(b.begin(), ['bob'])).toBe(true);
    expect(b.state('bob')).toBe('blocking');
    b.set('bob', false);
    expect(b.state('bob')).toBe('none');
  });

  it('unblocking forgets a refusal (it may have been my own block)', () => {
    const b = new BlockBook();
    b.refused('bob');
    b.set('bob', true);
    expect(b.state('bob')).toBe('blocking');
    b.set('bob', false);
    expect(b.state('bob')).toBe('none');
  });
});
