import { describe, expect, it } from 'vitest';
import { extractReference, newReference, REFERENCE_ALPHABET } from '../../src/domain/reference.js';

describe('references', () => {
  it('are R-XXXXX from the unambiguous alphabet, always with a digit, and rarely repeat', () => {
    const drawn = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const ref = newReference('R');
      expect(ref).toMatch(new RegExp(`^R-[${REFERENCE_ALPHABET}]{5}$`));
      expect(ref).toMatch(/[2-9]/);
      expect(ref).not.toMatch(/[01OIL]/);
      drawn.add(ref);
    }
    // 5,000 draws from 22 million codes collide about 0.6 times on average (the birthday
    // paradox); filing handles a collision by drawing again. Ten would mean a broken generator.
    expect(drawn.size).toBeGreaterThan(4990);
  });

  it('spread over the whole alphabet in every position (nothing sequential to guess)', () => {
    const seen = Array.from({ length: 5 }, () => new Set<string>());
    for (let i = 0; i < 3000; i++) [...newReference('I').slice(2)].forEach((c, p) => seen[p]!.add(c));
    for (const position of seen) expect(position.size).toBe(REFERENCE_ALPHABET.length);
  });

  it('are found in the forms residents type', () => {
    for (const text of ['R-7K3QX', 'r7k3qx', '#7K3QX', 'status r-7k3qx please', 'STATUS R 7K3QX', 'what about #7k3qx?']) {
      expect(extractReference(text)).toBe('R-7K3QX');
    }
    expect(extractReference('support i-4f2k9')).toBe('I-4F2K9');
    expect(extractReference('V-DEM4F')).toBe('V-DEM4F');
  });

  it('are not found in ordinary words', () => {
    for (const text of ['rates are up', 'views', 'Ramble on', 'reach out', 'vista', 'I have ideas', 'R-HELLO']) {
      expect(extractReference(text)).toBeNull();
    }
  });
});
