// Back-to-front order of Gaussians by their depth along the camera's axis: a counting sort on 16-bit depth keys,
// which keeps a frame of 700k Gaussians within a few milliseconds on one core.

const BUCKETS = 65536;

export class DepthSorter {
  constructor(count) {
    this.keys = new Uint16Array(count);
    this.counts = new Uint32Array(BUCKETS);
    this.order = new Uint32Array(count);
    this.visible = new Uint8Array(count);
  }

  // `positions` [count*3]; the camera's axis: depth = dot(axis, p) + offset. Gaussians closer than `near` are
  // left out. Returns how many remain; their indices, farthest first, fill this.order.
  sort(positions, count, axis, offset, near) {
    const [ax, ay, az] = axis;
    let lo = Infinity, hi = -Infinity;
    const depths = this.depths && this.depths.length >= count ? this.depths : (this.depths = new Float32Array(count));
    for (let i = 0; i < count; i++) {
      const d = ax * positions[3 * i] + ay * positions[3 * i + 1] + az * positions[3 * i + 2] + offset;
      depths[i] = d;
      if (d > near) {
        if (d < lo) lo = d;
        if (d > hi) hi = d;
      }
    }
    const counts = this.counts;
    counts.fill(0);
    const scale = hi > lo ? (BUCKETS - 1) / (hi - lo) : 0;
    let kept = 0;
    for (let i = 0; i < count; i++) {
      const d = depths[i];
      if (d > near) {
        // Farthest first: the key grows as the depth shrinks.
        const key = (BUCKETS - 1 - (d - lo) * scale) | 0;
        this.keys[i] = key;
        this.visible[i] = 1;
        counts[key]++;
        kept++;
      } else {
        this.visible[i] = 0;
      }
    }
    let start = 0;
    for (let k = 0; k < BUCKETS; k++) {
      const c = counts[k];
      counts[k] = start;
      start += c;
    }
    // Equal depths: the later Gaussian is drawn first (behind), as gsplat's stable front-to-back order has it.
    for (let i = count - 1; i >= 0; i--) {
      if (this.visible[i]) this.order[counts[this.keys[i]]++] = i;
    }
    return kept;
  }
}
