// A WebGL2 rasteriser of 3D Gaussians that follows gsplat's "classic" projection (EWA splatting with the pinhole
// intrinsics, 0.3 px^2 added to every projected covariance, a 3-sigma footprint, alpha = min(0.999, o * exp(-q)),
// fragments under 1/255 dropped), composited back to front. Each copy of the loop is rendered into its own
// off-screen target; a last pass blends the copies per pixel as mom4d's model does (`mom_nerfstudio.loop`): linearly,
// or preserving contrast (`blend.js`) when the scene was trained so and the browser renders to float targets.

import { ContrastBlend } from "./blend.js";
import { DepthSorter } from "./sort.js";

const TEXTURE_WIDTH = 2048; // a power of two: the vertex shader splits an index into texel x and y with bit operations
const NEAR_PLANE = 0.01;

const SPLAT_VERTEX = `#version 300 es
precision highp float;
precision highp int;
uniform highp sampler2D uCentres;
uniform highp sampler2D uCovA;
uniform highp sampler2D uCovB;
uniform lowp sampler2D uColours;
uniform mat3 uRotation;
uniform vec3 uTranslation;
uniform vec4 uIntrinsics;
uniform vec2 uSize;
in uint aIndex;
out vec4 vColour;
out vec2 vOffset;
out vec3 vConic;
void main() {
  ivec2 texel = ivec2(int(aIndex & ${TEXTURE_WIDTH - 1}u), int(aIndex >> ${Math.log2(TEXTURE_WIDTH)}u));
  vec3 world = texelFetch(uCentres, texel, 0).xyz;
  vec3 p = uRotation * world + uTranslation;
  gl_Position = vec4(0.0, 0.0, 2.0, 1.0);
  if (p.z <= ${NEAR_PLANE}) return;
  vec4 a = texelFetch(uCovA, texel, 0);
  vec2 b = texelFetch(uCovB, texel, 0).xy;
  mat3 sigma = mat3(a.x, a.y, a.z, a.y, a.w, b.x, a.z, b.x, b.y);
  float fx = uIntrinsics.x, fy = uIntrinsics.y, cx = uIntrinsics.z, cy = uIntrinsics.w;
  // gsplat clamps the Jacobian's point to a little beyond the image, as it projects.
  float tanX = 0.5 * uSize.x / fx, tanY = 0.5 * uSize.y / fy;
  float limXPos = (uSize.x - cx) / fx + 0.3 * tanX, limXNeg = cx / fx + 0.3 * tanX;
  float limYPos = (uSize.y - cy) / fy + 0.3 * tanY, limYNeg = cy / fy + 0.3 * tanY;
  float rz = 1.0 / p.z;
  float tx = p.z * clamp(p.x * rz, -limXNeg, limXPos);
  float ty = p.z * clamp(p.y * rz, -limYNeg, limYPos);
  mat3 J = mat3(fx * rz, 0.0, 0.0, 0.0, fy * rz, 0.0, -fx * tx * rz * rz, -fy * ty * rz * rz, 0.0);
  mat3 T = J * uRotation;
  mat3 cov = T * sigma * transpose(T);
  float c00 = cov[0][0] + 0.3, c01 = cov[0][1], c11 = cov[1][1] + 0.3;
  float det = c00 * c11 - c01 * c01;
  if (det <= 0.0) return;
  float mid = 0.5 * (c00 + c11);
  float radius = ceil(3.0 * sqrt(mid + sqrt(max(0.01, mid * mid - det))));
  vec2 centre = vec2(fx * p.x * rz + cx, fy * p.y * rz + cy);
  if (radius <= 0.0 || centre.x + radius <= 0.0 || centre.x - radius >= uSize.x ||
      centre.y + radius <= 0.0 || centre.y - radius >= uSize.y) return;
  vec2 corner = vec2(float(gl_VertexID & 1) * 2.0 - 1.0, float(gl_VertexID >> 1) * 2.0 - 1.0) * radius;
  vec2 pixel = centre + corner;
  gl_Position = vec4(pixel.x / uSize.x * 2.0 - 1.0, 1.0 - pixel.y / uSize.y * 2.0, 0.0, 1.0);
  vOffset = corner;
  vConic = vec3(c11, -c01, c00) / det;
  vColour = texelFetch(uColours, texel, 0);
}`;

const SPLAT_FRAGMENT = `#version 300 es
precision highp float;
in vec4 vColour;
in vec2 vOffset;
in vec3 vConic;
out vec4 outColour;
void main() {
  vec2 d = -vOffset;
  float q = 0.5 * (vConic.x * d.x * d.x + vConic.z * d.y * d.y) + vConic.y * d.x * d.y;
  if (q < 0.0) discard;
  float alpha = min(0.999, vColour.a * exp(-q));
  if (alpha < 1.0 / 255.0) discard;
  outColour = vec4(vColour.rgb * alpha, alpha);
}`;

const BLEND_VERTEX = `#version 300 es
void main() {
  vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}`;

// The linear blend of `mom_nerfstudio.loop.blend_copies`: shares in proportion to weight times coverage.
const BLEND_FRAGMENT = `#version 300 es
precision highp float;
uniform highp sampler2D uFirst;
uniform highp sampler2D uSecond;
uniform vec2 uWeights;
uniform vec3 uBackground;
uniform float uHeight;
out vec4 outColour;
void main() {
  ivec2 p = ivec2(int(gl_FragCoord.x), int(gl_FragCoord.y));
  vec4 a = texelFetch(uFirst, p, 0);
  vec4 b = texelFetch(uSecond, p, 0);
  float wa = uWeights.x * a.a, wb = uWeights.y * b.a, total = wa + wb;
  vec2 shares = total > 1e-6 ? vec2(wa, wb) / total : uWeights;
  vec3 colour = shares.x * a.rgb / max(a.a, 1e-6) + shares.y * b.rgb / max(b.a, 1e-6);
  float coverage = shares.x * a.a + shares.y * b.a;
  outColour = vec4(clamp(colour * coverage + (1.0 - coverage) * uBackground, 0.0, 1.0), 1.0);
}`;

function compile(gl, vertexSource, fragmentSource) {
  const program = gl.createProgram();
  for (const [type, source] of [[gl.VERTEX_SHADER, vertexSource], [gl.FRAGMENT_SHADER, fragmentSource]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`shader: ${gl.getShaderInfoLog(shader)}`);
    gl.attachShader(program, shader);
  }
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`program: ${gl.getProgramInfoLog(program)}`);
  return program;
}

function dataTexture(gl, internalFormat, format, type, data, rows) {
  const texture = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, texture);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
  gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  gl.texImage2D(gl.TEXTURE_2D, 0, internalFormat, TEXTURE_WIDTH, rows, 0, format, type, data);
  return texture;
}

export class SplatRenderer {
  constructor(canvas, scene) {
    const gl = canvas.getContext("webgl2", { antialias: false, alpha: false, preserveDrawingBuffer: true });
    if (!gl) throw new Error("this browser has no WebGL2");
    this.gl = gl;
    this.canvas = canvas;
    this.scene = scene;
    const floatTargets = gl.getExtension("EXT_color_buffer_float");
    this.targetFormat = floatTargets && gl.getExtension("EXT_float_blend") ? gl.RGBA32F : floatTargets ? gl.RGBA16F : gl.RGBA8;
    const contrast = scene.header.loop.blend === "contrast-preserving";
    if (contrast && !floatTargets) console.warn("no float render targets: the loop's copies are blended linearly");
    this.contrast = contrast && floatTargets ? new ContrastBlend(gl) : null;
    this.splatProgram = compile(gl, SPLAT_VERTEX, SPLAT_FRAGMENT);
    this.blendProgram = compile(gl, BLEND_VERTEX, BLEND_FRAGMENT);
    const total = scene.total;
    this.rows = Math.max(1, Math.ceil(total / TEXTURE_WIDTH));
    const texels = this.rows * TEXTURE_WIDTH;
    // Per-copy state on the CPU: every Gaussian's centre and covariance (the moving ones come first).
    this.positions = new Float32Array(total * 3);
    this.positions.set(scene.positions);
    this.covariances = new Float32Array(total * 6);
    this.covariances.set(scene.covariances);
    this.centreTexels = new Float32Array(texels * 4);
    this.covTexelsA = new Float32Array(texels * 4);
    this.covTexelsB = new Float32Array(texels * 4);
    this.packAll(0, total);
    this.centres = dataTexture(gl, gl.RGBA32F, gl.RGBA, gl.FLOAT, this.centreTexels, this.rows);
    this.covA = dataTexture(gl, gl.RGBA32F, gl.RGBA, gl.FLOAT, this.covTexelsA, this.rows);
    this.covB = dataTexture(gl, gl.RGBA32F, gl.RGBA, gl.FLOAT, this.covTexelsB, this.rows);
    const colours = new Uint8Array(texels * 4);
    colours.set(scene.colours);
    this.colours = dataTexture(gl, gl.RGBA8, gl.RGBA, gl.UNSIGNED_BYTE, colours, this.rows);
    this.movingRows = Math.ceil(scene.moving / TEXTURE_WIDTH);
    this.sorter = new DepthSorter(total);
    this.vao = gl.createVertexArray();
    gl.bindVertexArray(this.vao);
    this.indexBuffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.indexBuffer);
    gl.bufferData(gl.ARRAY_BUFFER, total * 4, gl.DYNAMIC_DRAW);
    const location = gl.getAttribLocation(this.splatProgram, "aIndex");
    gl.enableVertexAttribArray(location);
    gl.vertexAttribIPointer(location, 1, gl.UNSIGNED_INT, 0, 0);
    gl.vertexAttribDivisor(location, 1);
    gl.bindVertexArray(null);
    this.emptyVao = gl.createVertexArray();
    this.targets = [];
    this.size = [0, 0];
  }

  packAll(first, last) {
    const p = this.positions, c = this.covariances;
    const centres = this.centreTexels, a = this.covTexelsA, b = this.covTexelsB;
    for (let i = first; i < last; i++) {
      centres[4 * i] = p[3 * i]; centres[4 * i + 1] = p[3 * i + 1]; centres[4 * i + 2] = p[3 * i + 2];
      a[4 * i] = c[6 * i]; a[4 * i + 1] = c[6 * i + 1]; a[4 * i + 2] = c[6 * i + 2]; a[4 * i + 3] = c[6 * i + 3];
      b[4 * i] = c[6 * i + 4]; b[4 * i + 1] = c[6 * i + 5];
    }
  }

  ensureTargets(width, height) {
    if (this.size[0] === width && this.size[1] === height) return;
    const gl = this.gl;
    for (const target of this.targets) { gl.deleteFramebuffer(target.framebuffer); gl.deleteTexture(target.texture); }
    this.targets = [0, 1].map(() => {
      const texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
      gl.texStorage2D(gl.TEXTURE_2D, 1, this.targetFormat, width, height);
      const framebuffer = gl.createFramebuffer();
      gl.bindFramebuffer(gl.FRAMEBUFFER, framebuffer);
      gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0, gl.TEXTURE_2D, texture, 0);
      return { texture, framebuffer };
    });
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    this.size = [width, height];
  }

  // One copy of the loop: the moving Gaussians posed after `frames` frames of motion, rendered into `target`.
  renderCopy(frames, view, target) {
    const gl = this.gl, scene = this.scene;
    if (scene.moving > 0) {
      scene.poseInto(frames, this.positions, this.covariances);
      this.packAll(0, scene.moving);
      const count = this.movingRows * TEXTURE_WIDTH * 4;
      gl.bindTexture(gl.TEXTURE_2D, this.centres);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, TEXTURE_WIDTH, this.movingRows, gl.RGBA, gl.FLOAT, this.centreTexels.subarray(0, count));
      if (scene.poseRotations) {
        gl.bindTexture(gl.TEXTURE_2D, this.covA);
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, TEXTURE_WIDTH, this.movingRows, gl.RGBA, gl.FLOAT, this.covTexelsA.subarray(0, count));
        gl.bindTexture(gl.TEXTURE_2D, this.covB);
        gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, TEXTURE_WIDTH, this.movingRows, gl.RGBA, gl.FLOAT, this.covTexelsB.subarray(0, count));
      }
    }
    const r = view.rotation;
    const kept = this.sorter.sort(this.positions, scene.total, [r[6], r[7], r[8]], view.translation[2], NEAR_PLANE);
    gl.bindBuffer(gl.ARRAY_BUFFER, this.indexBuffer);
    gl.bufferSubData(gl.ARRAY_BUFFER, 0, this.sorter.order.subarray(0, kept));
    gl.bindFramebuffer(gl.FRAMEBUFFER, target.framebuffer);
    gl.viewport(0, 0, view.width, view.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(this.splatProgram);
    const program = this.splatProgram;
    [["uCentres", this.centres], ["uCovA", this.covA], ["uCovB", this.covB], ["uColours", this.colours]].forEach(([name, texture], unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.uniform1i(gl.getUniformLocation(program, name), unit);
    });
    // GLSL matrices are column-major: the row-major rotation goes in transposed.
    gl.uniformMatrix3fv(gl.getUniformLocation(program, "uRotation"), true, r);
    gl.uniform3fv(gl.getUniformLocation(program, "uTranslation"), view.translation);
    gl.uniform4f(gl.getUniformLocation(program, "uIntrinsics"), view.fx, view.fy, view.cx, view.cy);
    gl.uniform2f(gl.getUniformLocation(program, "uSize"), view.width, view.height);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.disable(gl.DEPTH_TEST);
    gl.bindVertexArray(this.vao);
    gl.drawArraysInstanced(gl.TRIANGLE_STRIP, 0, 4, kept);
    gl.bindVertexArray(null);
    gl.disable(gl.BLEND);
  }

  // The scene at loop time t in [0, 1) seen by `view`: the loop's copies (carried tN frames forward, weight 1 - t,
  // and (1 - t)N back, weight t) rendered and blended into the canvas.
  render(t, view, background) {
    const gl = this.gl, n = this.scene.numFrames;
    t = ((t % 1) + 1) % 1;
    this.ensureTargets(view.width, view.height);
    this.renderCopy(t * n, view, this.targets[0]);
    const weights = [1 - t, t];
    if (t > 0) this.renderCopy(-(1 - t) * n, view, this.targets[1]);
    else weights[1] = 0;
    if (t > 0 && this.contrast) {
      this.contrast.run(this.targets[0].texture, this.targets[1].texture, weights, background, view.width, view.height);
      return;
    }
    gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    gl.viewport(0, 0, view.width, view.height);
    gl.useProgram(this.blendProgram);
    const program = this.blendProgram;
    this.targets.forEach((target, unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, target.texture);
    });
    gl.uniform1i(gl.getUniformLocation(program, "uFirst"), 0);
    gl.uniform1i(gl.getUniformLocation(program, "uSecond"), 1);
    gl.uniform2f(gl.getUniformLocation(program, "uWeights"), weights[0], weights[1]);
    gl.uniform3fv(gl.getUniformLocation(program, "uBackground"), background);
    gl.bindVertexArray(this.emptyVao);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.bindVertexArray(null);
  }
}
