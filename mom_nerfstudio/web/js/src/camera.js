// The page's camera: the input view's pinhole camera, moved by orbiting about the scene's pivot, panning in the
// image plane and zooming (a longer focal length), each kept within the limits the export read off the views the
// scene was trained on.

function rotation(axis, radians) {
  const [x, y, z] = axis;
  const c = Math.cos(radians), s = Math.sin(radians), t = 1 - c;
  // Row-major 3x3.
  return [
    t * x * x + c, t * x * y - s * z, t * x * z + s * y,
    t * x * y + s * z, t * y * y + c, t * y * z - s * x,
    t * x * z - s * y, t * y * z + s * x, t * z * z + c,
  ];
}

function multiply(a, b) {
  const out = new Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) {
    out[3 * r + c] = a[3 * r] * b[c] + a[3 * r + 1] * b[3 + c] + a[3 * r + 2] * b[6 + c];
  }
  return out;
}

function apply(m, v) {
  return [
    m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
    m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
    m[6] * v[0] + m[7] * v[1] + m[8] * v[2],
  ];
}

export class ViewCamera {
  constructor(header) {
    const camera = header.camera;
    const pose = camera.camera_to_world; // 4x4 rows, nerfstudio (OpenGL): x right, y up, looking along -z
    this.rotation0 = [pose[0][0], pose[0][1], pose[0][2], pose[1][0], pose[1][1], pose[1][2], pose[2][0], pose[2][1], pose[2][2]];
    this.centre0 = [pose[0][3], pose[1][3], pose[2][3]];
    this.right0 = [pose[0][0], pose[1][0], pose[2][0]];
    this.up0 = [pose[0][1], pose[1][1], pose[2][1]];
    const forward = [-pose[0][2], -pose[1][2], -pose[2][2]];
    this.pivot = this.centre0.map((c, i) => c + forward[i] * camera.pivot_depth);
    this.intrinsics = camera;
    this.limits = header.view_limits;
    this.reset();
  }

  reset() {
    this.yaw = 0; this.pitch = 0; this.panX = 0; this.panY = 0; this.zoom = 1;
  }

  isAtInput() {
    return this.yaw === 0 && this.pitch === 0 && this.panX === 0 && this.panY === 0 && this.zoom === 1;
  }

  orbit(dyawDegrees, dpitchDegrees) {
    this.yaw += dyawDegrees; this.pitch += dpitchDegrees;
    const limit = this.limits.orbit_degrees, length = Math.hypot(this.yaw, this.pitch);
    if (length > limit) { this.yaw *= limit / length; this.pitch *= limit / length; }
  }

  pan(dx, dy) {
    this.panX += dx; this.panY += dy;
    const limit = this.limits.pan, length = Math.hypot(this.panX, this.panY);
    if (length > limit) { this.panX *= limit / length; this.panY *= limit / length; }
  }

  zoomBy(factor) {
    const [lo, hi] = this.limits.zoom;
    this.zoom = Math.min(Math.max(this.zoom * factor, lo), hi);
  }

  // World-to-camera rotation (row-major, OpenCV axes: x right, y down, z forward) and translation, and the pinhole
  // intrinsics for a canvas `width` x `height` showing the input view's frame.
  view(width, height) {
    const yaw = rotation(this.up0, (this.yaw * Math.PI) / 180);
    const pitch = rotation(this.right0, (this.pitch * Math.PI) / 180);
    const turn = multiply(yaw, pitch);
    const r = multiply(turn, this.rotation0);
    const relative = this.centre0.map((c, i) => c - this.pivot[i]);
    const turned = apply(turn, relative);
    const right = [r[0], r[3], r[6]], up = [r[1], r[4], r[7]];
    const centre = turned.map((v, i) => this.pivot[i] + v + right[i] * this.panX + up[i] * this.panY);
    // Rows of the world-to-camera rotation: the camera's axes, with y and z flipped into OpenCV's convention.
    const rows = [right, up.map((v) => -v), [-r[2], -r[5], -r[8]]];
    const worldToCamera = [...rows[0], ...rows[1], ...rows[2]];
    const translation = rows.map((row) => -(row[0] * centre[0] + row[1] * centre[1] + row[2] * centre[2]));
    const k = this.intrinsics, scale = height / k.height;
    return {
      rotation: worldToCamera,
      translation,
      fx: k.fx * scale * this.zoom,
      fy: k.fy * scale * this.zoom,
      cx: k.cx * scale + (width - k.width * scale) / 2,
      cy: k.cy * scale,
      width,
      height,
    };
  }
}
