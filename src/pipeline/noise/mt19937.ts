/**
 * MT19937 (Matsumoto & Nishimura) with numpy's legacy integer seeding (`init_genrand`), so that a
 * TypeScript generator seeded with `s` yields the same 32-bit stream as `numpy.random.RandomState(s)`.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const SEED_MULTIPLIER = 1812433253;

export class Mt19937 {
  readonly #state = new Uint32Array(N);
  #index = N;

  /** `seed`: an integer in 0..2^32-1 (numpy rejects anything else for an int seed). */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RangeError(`Mt19937: seed must be an integer in 0..2^32-1, got ${seed}`);
    }
    const mt = this.#state;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(SEED_MULTIPLIER, prev) + i) >>> 0;
    }
    this.#index = N;
  }

  /** The next 32-bit output, as an unsigned number. */
  nextUint32(): number {
    if (this.#index >= N) this.#twist();
    let y = this.#state[this.#index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) from 53 random bits (numpy `random_sample`, legacy `rk_double`). */
  nextDouble(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 67108864 + b) / 9007199254740992;
  }

  #twist(): void {
    const mt = this.#state;
    for (let k = 0; k < N; k++) {
      const y = (mt[k] & UPPER_MASK) | (mt[(k + 1) % N] & LOWER_MASK);
      mt[k] = mt[(k + M) % N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    this.#index = 0;
  }
}
