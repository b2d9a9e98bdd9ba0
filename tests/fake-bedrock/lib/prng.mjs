// A small seeded generator (splitmix32 seeding sfc32) so the data set depends only on --seed,
// never on the Node version or the wall clock.

function splitmix32(state) {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  constructor(seed, stream = 0) {
    const mix = splitmix32((Number(seed) ^ Math.imul(stream + 1, 0x27d4eb2f)) >>> 0);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    for (let i = 0; i < 16; i++) this.nextU32();
  }

  nextU32() {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  float() {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [min, max] (inclusive, max - min < 2^32). */
  int(min, max) {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  pick(list) {
    return list[Math.floor(this.float() * list.length)];
  }

  chance(p) {
    return this.float() < p;
  }

  string(length, alphabet) {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.float() * alphabet.length)];
    return out;
  }

  digits(length) {
    return this.string(1, '123456789') + this.string(length - 1, '0123456789');
  }

  uuid() {
    const hex = this.string(32, '0123456789abcdef');
    const variant = '89ab'[this.int(0, 3)];
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}
