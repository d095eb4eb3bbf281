// Reading a mom4d web scene: scene.json (the header) and scene.bin (the sections it names), as documented in
// docs/web_format.md. Positions, scales and colours are dequantised here, once; the moving Gaussians' poses stay
// quantised and are decoded per copy and frame by `poseInto`.

const TYPES = { u8: Uint8Array, i8: Int8Array, u16: Uint16Array, f32: Float32Array };

function section(buffer, header, name) {
  const entry = header.sections[name];
  if (!entry) return null;
  const Type = TYPES[entry.dtype];
  if (!Type) throw new Error(`scene.json: section ${name} has an unknown dtype ${entry.dtype}`);
  const count = entry.shape.reduce((a, b) => a * b, 1);
  if (entry.offset + count * Type.BYTES_PER_ELEMENT > buffer.byteLength) {
    throw new Error(`scene.bin is shorter than its section ${name} needs: the export is incomplete`);
  }
  return new Type(buffer, entry.offset, count);
}

// Unit quaternion (w, x, y, z) and log-scales into the 6 entries of the covariance R S S R^T.
export function covariance(w, x, y, z, s0, s1, s2, out, at) {
  const norm = Math.hypot(w, x, y, z) || 1;
  w /= norm; x /= norm; y /= norm; z /= norm;
  const r00 = 1 - 2 * (y * y + z * z), r01 = 2 * (x * y - w * z), r02 = 2 * (x * z + w * y);
  const r10 = 2 * (x * y + w * z), r11 = 1 - 2 * (x * x + z * z), r12 = 2 * (y * z - w * x);
  const r20 = 2 * (x * z - w * y), r21 = 2 * (y * z + w * x), r22 = 1 - 2 * (x * x + y * y);
  const a = Math.exp(2 * s0), b = Math.exp(2 * s1), c = Math.exp(2 * s2);
  out[at] = r00 * r00 * a + r01 * r01 * b + r02 * r02 * c;
  out[at + 1] = r00 * r10 * a + r01 * r11 * b + r02 * r12 * c;
  out[at + 2] = r00 * r20 * a + r01 * r21 * b + r02 * r22 * c;
  out[at + 3] = r10 * r10 * a + r11 * r11 * b + r12 * r12 * c;
  out[at + 4] = r10 * r20 * a + r11 * r21 * b + r12 * r22 * c;
  out[at + 5] = r20 * r20 * a + r21 * r21 * b + r22 * r22 * c;
}

export class Scene {
  constructor(header, buffer) {
    if (header.format !== "mom4d-web" || header.version !== 1) {
      throw new Error(`scene.json is not a mom4d web scene of version 1 (format ${header.format}, version ${header.version})`);
    }
    this.header = header;
    this.moving = header.counts.moving;
    this.total = header.counts.moving + header.counts.still;
    this.numFrames = header.loop.num_frames;
    this.poseFrames = header.poses.frames; // the motion, in frames, of each stored pose: -N ... N
    const lo = header.bounds.min, hi = header.bounds.max;
    const positions = section(buffer, header, "positions");
    this.positions = new Float32Array(this.total * 3);
    for (let i = 0; i < this.total * 3; i++) {
      const axis = i % 3;
      this.positions[i] = lo[axis] + (positions[i] / 65535) * (hi[axis] - lo[axis]);
    }
    this.colours = section(buffer, header, "colours");
    const [smin, smax] = header.log_scale_range;
    const scales = section(buffer, header, "log_scales");
    this.logScales = new Float32Array(this.total * 3);
    for (let i = 0; i < this.total * 3; i++) this.logScales[i] = smin + (scales[i] / 255) * (smax - smin);
    const rotations = section(buffer, header, "rotations");
    this.rotations = new Float32Array(this.total * 4);
    for (let i = 0; i < this.total * 4; i++) this.rotations[i] = rotations[i] / 127;
    this.covariances = new Float32Array(this.total * 6);
    for (let i = 0; i < this.total; i++) {
      const q = this.rotations, s = this.logScales;
      covariance(q[4 * i], q[4 * i + 1], q[4 * i + 2], q[4 * i + 3], s[3 * i], s[3 * i + 1], s[3 * i + 2], this.covariances, 6 * i);
    }
    this.poseBoxes = section(buffer, header, "pose_boxes");
    this.posePositions = section(buffer, header, "pose_positions");
    this.poseRotations = section(buffer, header, "pose_rotations");
    this.poseLogScales = section(buffer, header, "pose_log_scales");
  }

  // Write the moving Gaussians' positions (and covariances, when poses carry rotations and scales) after `frames`
  // frames of motion, interpolated between the stored poses, into `positions` [total*3] and `covariances`.
  poseInto(frames, positions, covariances) {
    const m = this.moving;
    if (m === 0) return;
    const poses = this.poseFrames;
    const last = poses.length - 1;
    const clamped = Math.min(Math.max(frames, poses[0]), poses[last]);
    let j = Math.min(Math.floor(((clamped - poses[0]) / (poses[last] - poses[0])) * last), last - 1);
    if (last === 0) j = 0;
    const w = last === 0 ? 0 : (clamped - poses[j]) / (poses[j + 1] - poses[j]);
    const j1 = last === 0 ? 0 : j + 1;
    const box = this.poseBoxes, q = this.posePositions;
    const a = j * m * 3, b = j1 * m * 3;
    for (let i = 0; i < m; i++) {
      for (let axis = 0; axis < 3; axis++) {
        const lo = box[6 * i + axis], extent = box[6 * i + 3 + axis] - lo;
        const k = 3 * i + axis;
        const qa = q[a + k], qb = q[b + k];
        positions[k] = lo + (extent * (qa + (qb - qa) * w)) / 255;
      }
    }
    if (!this.poseRotations) return;
    const [smin, smax] = this.header.log_scale_range;
    const r = this.poseRotations, s = this.poseLogScales;
    const ra = j * m * 4, rb = j1 * m * 4;
    for (let i = 0; i < m; i++) {
      const quat = [0, 0, 0, 0];
      for (let c = 0; c < 4; c++) quat[c] = (r[ra + 4 * i + c] * (1 - w) + r[rb + 4 * i + c] * w) / 127;
      const sc = [0, 0, 0];
      for (let c = 0; c < 3; c++) {
        const v = s[a + 3 * i + c] * (1 - w) + s[b + 3 * i + c] * w;
        sc[c] = smin + (v / 255) * (smax - smin);
      }
      covariance(quat[0], quat[1], quat[2], quat[3], sc[0], sc[1], sc[2], covariances, 6 * i);
    }
  }
}

export async function loadScene(base) {
  const headerResponse = await fetch(`${base}scene.json`);
  if (!headerResponse.ok) throw new Error(`could not read scene.json (HTTP ${headerResponse.status})`);
  const header = await headerResponse.json();
  const dataResponse = await fetch(`${base}${header.data_file}`);
  if (!dataResponse.ok) throw new Error(`could not read ${header.data_file} (HTTP ${dataResponse.status})`);
  return new Scene(header, await dataResponse.arrayBuffer());
}
