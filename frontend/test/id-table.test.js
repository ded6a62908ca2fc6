import { describe, expect, it } from 'vitest';
import { createIdTable, decodeUtf8, hashBytes, hashString } from '../src/live/id-table.js';

const utf8 = new TextEncoder();

/** bytes holding `ids` one after another, and where each starts. */
function packed(ids) {
  const encoded = ids.map((id) => utf8.encode(id));
  const bytes = new Uint8Array(encoded.reduce((n, e) => n + e.length + 1, 0));
  const at = [];
  let offset = 0;
  for (const e of encoded) {
    // A byte between ids, so a lookup that overruns its length would see it.
    bytes[offset] = 0x7c;
    offset += 1;
    bytes.set(e, offset);
    at.push([offset, e.length]);
    offset += e.length;
  }
  return { bytes, at };
}

function findByBytes(table, id) {
  const { bytes, at } = packed([id]);
  const [start, length] = at[0];
  return table.findBytes(bytes, start, length, hashBytes(bytes, start, length));
}

describe('hashing and decoding', () => {
  it('hashes a string as its UTF-8 bytes, ASCII or not', () => {
    for (const id of ['veh-1', 'veh-2', '', 'bus ü 12', '車両-7', 'x'.repeat(300)]) {
      const bytes = utf8.encode(id);
      expect(hashString(id)).toBe(hashBytes(bytes, 0, bytes.length));
      expect(decodeUtf8(bytes, 0, bytes.length)).toBe(id);
    }
    // Neighbouring ids land far apart (low bits differ).
    const low = new Set(Array.from({ length: 64 }, (_, i) => hashString(`veh-${i}`) & 63));
    expect(low.size).toBeGreaterThan(32);
  });
});

describe('createIdTable', () => {
  it('finds ids by their bytes and by string, and forgets removed ones', () => {
    const table = createIdTable();
    table.add('veh-1', 0);
    table.add('車両-7', 5);
    expect(table.size).toBe(2);
    expect(findByBytes(table, 'veh-1')).toBe(0);
    expect(findByBytes(table, '車両-7')).toBe(5);
    expect(findByBytes(table, 'veh-10')).toBe(-1);
    expect(findByBytes(table, 'veh-')).toBe(-1);
    expect(table.find('車両-7')).toBe(5);
    expect(table.idAt(5)).toBe('車両-7');
    expect(table.removeSlot(5)).toBe('車両-7');
    expect(table.removeSlot(5)).toBeUndefined();
    expect(table.find('車両-7')).toBe(-1);
    expect(table.size).toBe(1);
  });

  it('stays consistent through growth and many removals (every remaining id still found)', () => {
    const table = createIdTable();
    const n = 20000;
    for (let i = 0; i < n; i += 1) table.add(`veh-${i}`, i);
    for (let i = 0; i < n; i += 3) table.removeSlot(i);
    // Freed slots are reused by new ids.
    for (let i = 0; i < n; i += 3) table.add(`new-${i}`, i);
    for (let i = 0; i < n; i += 1) {
      const kept = i % 3 !== 0;
      expect(table.find(`veh-${i}`)).toBe(kept ? i : -1);
      if (!kept) expect(table.find(`new-${i}`)).toBe(i);
    }
    expect(findByBytes(table, 'veh-19999')).toBe(19999);
    expect(table.size).toBe(n);
    table.clear();
    expect(table.size).toBe(0);
    expect(table.find('veh-1')).toBe(-1);
  });
});
