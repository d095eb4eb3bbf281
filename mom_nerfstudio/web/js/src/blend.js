// The contrast-preserving blend of the loop's two copies, as `mom_nerfstudio.loop.blend_copies` computes it: the
// linear mix, with its deviation from the local mean scaled up where the copies disagree, so that its local
// variance becomes the copies' mixed variance. Local means are box means over a radius of 3 % of the long side,
// taken as the model takes them: on a copy shrunk by radius / 4 (average pooling, partial blocks averaged over their
// pixels), two one-dimensional box passes there (zeros outside), then bilinear interpolation back.
// Every pass works in image coordinates (row 0 at the top), as the model's tensors are laid out.

const RADIUS_FRACTION = 0.03;
const SHRINK_PER_RADIUS = 4;

// Python's round(): halves go to the even neighbour.
function roundHalfEven(value) {
  const floor = Math.floor(value), fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

export function contrastWindow(width, height) {
  const radius = Math.max(1, roundHalfEven(RADIUS_FRACTION * Math.max(width, height)));
  const shrink = Math.max(1, Math.floor(radius / SHRINK_PER_RADIUS));
  const smallRadius = Math.max(1, roundHalfEven(radius / shrink));
  return { radius, shrink, smallRadius };
}

const HEADER = `#version 300 es
precision highp float;
precision highp int;
ivec2 imagePixel(ivec2 size) { return ivec2(int(gl_FragCoord.x), size.y - 1 - int(gl_FragCoord.y)); }
vec4 fetchImage(highp sampler2D image, ivec2 size, ivec2 p) { return texelFetch(image, ivec2(p.x, size.y - 1 - p.y), 0); }
`;

const VERTEX = `#version 300 es
void main() {
  vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}`;

// What both the preparation and the last pass read of the two copies: colours, coverages, shares and the mix.
const COPIES = `
uniform highp sampler2D uFirst;
uniform highp sampler2D uSecond;
uniform vec2 uWeights;
uniform ivec2 uFull;
struct Copies { vec3 a; vec3 b; float alphaA; float alphaB; vec2 shares; vec3 mixed; float coverage; };
Copies readCopies(ivec2 p) {
  vec4 first = fetchImage(uFirst, uFull, p), second = fetchImage(uSecond, uFull, p);
  Copies c;
  c.alphaA = first.a; c.alphaB = second.a;
  c.a = first.rgb / max(first.a, 1e-6); c.b = second.rgb / max(second.a, 1e-6);
  float wa = uWeights.x * first.a, wb = uWeights.y * second.a, total = wa + wb;
  c.shares = total > 1e-6 ? vec2(wa, wb) / total : uWeights;
  c.mixed = c.shares.x * c.a + c.shares.y * c.b;
  c.coverage = c.shares.x * c.alphaA + c.shares.y * c.alphaB;
  return c;
}
`;

const UPSAMPLE = `
uniform ivec2 uSmall;
uniform int uShrink;
vec4 upsample(highp sampler2D image, ivec2 p) {
  if (uShrink == 1) return fetchImage(image, uSmall, p);
  vec2 source = max((vec2(p) + 0.5) * vec2(uSmall) / vec2(uFull) - 0.5, 0.0);
  ivec2 i0 = ivec2(floor(source));
  ivec2 i1 = min(i0 + 1, uSmall - 1);
  vec2 l = source - vec2(i0);
  vec4 top = mix(fetchImage(image, uSmall, i0), fetchImage(image, uSmall, ivec2(i1.x, i0.y)), l.x);
  vec4 bottom = mix(fetchImage(image, uSmall, ivec2(i0.x, i1.y)), fetchImage(image, uSmall, i1), l.x);
  return mix(top, bottom, l.y);
}
`;

const PREPARE = `${HEADER}${COPIES}
layout(location = 0) out vec4 outFirst;
layout(location = 1) out vec4 outSecond;
layout(location = 2) out vec4 outMixed;
void main() {
  Copies c = readCopies(imagePixel(uFull));
  outFirst = vec4(c.a * c.alphaA, c.alphaA);
  outSecond = vec4(c.b * c.alphaB, c.alphaB);
  outMixed = vec4(c.mixed * c.coverage, c.coverage);
}`;

function samplers(count) {
  return Array.from({ length: count }, (_, i) => `uniform highp sampler2D uIn${i};\nlayout(location = ${i}) out vec4 out${i};`).join("\n");
}

// Average pooling by uShrink: each block's mean over the pixels inside the image.
function poolShader(count) {
  const body = Array.from({ length: count }, (_, i) => `out${i} = sum${i} / n;`).join("\n  ");
  const sums = Array.from({ length: count }, (_, i) => `vec4 sum${i} = vec4(0.0);`).join(" ");
  const adds = Array.from({ length: count }, (_, i) => `sum${i} += fetchImage(uIn${i}, uSource, q);`).join(" ");
  return `${HEADER}${samplers(count)}
uniform ivec2 uSource;
uniform ivec2 uTarget;
uniform int uShrink;
void main() {
  ivec2 p = imagePixel(uTarget);
  ${sums}
  float n = 0.0;
  for (int dy = 0; dy < 64; dy++) {
    if (dy >= uShrink) break;
    for (int dx = 0; dx < 64; dx++) {
      if (dx >= uShrink) break;
      ivec2 q = p * uShrink + ivec2(dx, dy);
      if (q.x < uSource.x && q.y < uSource.y) { ${adds} n += 1.0; }
    }
  }
  ${body}
}`;
}

// One-dimensional box mean over 2r + 1 pixels along uAxis, zeros outside the image.
function boxShader(count) {
  const sums = Array.from({ length: count }, (_, i) => `vec4 sum${i} = vec4(0.0);`).join(" ");
  const adds = Array.from({ length: count }, (_, i) => `sum${i} += fetchImage(uIn${i}, uTarget, q);`).join(" ");
  const body = Array.from({ length: count }, (_, i) => `out${i} = sum${i} / float(2 * uRadius + 1);`).join("\n  ");
  return `${HEADER}${samplers(count)}
uniform ivec2 uTarget;
uniform ivec2 uAxis;
uniform int uRadius;
void main() {
  ivec2 p = imagePixel(uTarget);
  ${sums}
  for (int k = -64; k <= 64; k++) {
    if (k < -uRadius) continue;
    if (k > uRadius) break;
    ivec2 q = p + k * uAxis;
    if (q.x >= 0 && q.y >= 0 && q.x < uTarget.x && q.y < uTarget.y) { ${adds} }
  }
  ${body}
}`;
}

// Local means and deviations of the two copies and the mix, shared by the squares pass and the last pass.
const LOCAL = `
uniform highp sampler2D uSumFirst;
uniform highp sampler2D uSumSecond;
uniform highp sampler2D uSumMixed;
struct Local { vec3 deviations[3]; float weightSums[3]; };
Local local(Copies c, ivec2 p) {
  vec4 sums[3];
  sums[0] = upsample(uSumFirst, p); sums[1] = upsample(uSumSecond, p); sums[2] = upsample(uSumMixed, p);
  vec3 images[3];
  images[0] = c.a; images[1] = c.b; images[2] = c.mixed;
  Local l;
  for (int i = 0; i < 3; i++) {
    l.weightSums[i] = max(sums[i].a, 1e-6);
    l.deviations[i] = images[i] - sums[i].rgb / l.weightSums[i];
  }
  return l;
}
float meanSquare(vec3 v) { return dot(v, v) / 3.0; }
`;

const SQUARES = `${HEADER}${COPIES}${UPSAMPLE}${LOCAL}
out vec4 outSquares;
void main() {
  ivec2 p = imagePixel(uFull);
  Copies c = readCopies(p);
  Local l = local(c, p);
  outSquares = vec4(meanSquare(l.deviations[0]) * c.alphaA, meanSquare(l.deviations[1]) * c.alphaB,
                    meanSquare(l.deviations[2]) * c.coverage, 0.0);
}`;

const FINAL = `${HEADER}${COPIES}${UPSAMPLE}${LOCAL}
uniform highp sampler2D uSquares;
uniform vec3 uBackground;
out vec4 outColour;
void main() {
  ivec2 p = imagePixel(uFull);
  Copies c = readCopies(p);
  Local l = local(c, p);
  vec3 variances = upsample(uSquares, p).rgb / vec3(l.weightSums[0], l.weightSums[1], l.weightSums[2]);
  float target = c.shares.x * variances.x + c.shares.y * variances.y;
  float most = inversesqrt(max(dot(c.shares, c.shares), 0.5));
  float gain = min(max(sqrt((target + 1e-4) / (variances.z + 1e-4)), 1.0), most);
  float disagreement = c.shares.x * meanSquare(c.a - c.mixed) + c.shares.y * meanSquare(c.b - c.mixed);
  float differ = disagreement / (disagreement + 1e-4);
  vec3 colour = c.mixed + (gain - 1.0) * differ * l.deviations[2];
  outColour = vec4(clamp(colour * c.coverage + (1.0 - c.coverage) * uBackground, 0.0, 1.0), 1.0);
}`;

function compile(gl, fragmentSource) {
  const program = gl.createProgram();
  for (const [type, source] of [[gl.VERTEX_SHADER, VERTEX], [gl.FRAGMENT_SHADER, fragmentSource]]) {
    const shader = gl.createShader(type);
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(`blend shader: ${gl.getShaderInfoLog(shader)}`);
    gl.attachShader(program, shader);
  }
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(`blend program: ${gl.getProgramInfoLog(program)}`);
  return program;
}

export class ContrastBlend {
  constructor(gl) {
    this.gl = gl;
    this.programs = {
      prepare: compile(gl, PREPARE),
      pool3: compile(gl, poolShader(3)),
      box3: compile(gl, boxShader(3)),
      pool1: compile(gl, poolShader(1)),
      box1: compile(gl, boxShader(1)),
      squares: compile(gl, SQUARES),
      final: compile(gl, FINAL),
    };
    this.vao = gl.createVertexArray();
    this.size = [0, 0];
  }

  texture(width, height) {
    const gl = this.gl, texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, texture);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texStorage2D(gl.TEXTURE_2D, 1, gl.RGBA32F, width, height);
    return texture;
  }

  ensure(width, height) {
    if (this.size[0] === width && this.size[1] === height) return;
    const gl = this.gl;
    for (const texture of this.textures || []) gl.deleteTexture(texture);
    this.window = contrastWindow(width, height);
    const s = this.window.shrink;
    this.small = [Math.ceil(width / s), Math.ceil(height / s)];
    const [sw, sh] = this.small;
    const full = () => this.texture(width, height), small = () => this.texture(sw, sh);
    this.prepared = [full(), full(), full()];
    this.pooled = [small(), small(), small()];
    this.across = [small(), small(), small()];
    this.sums = [small(), small(), small()];
    this.squares = full();
    this.squaresPooled = small();
    this.squaresAcross = small();
    this.squaresSum = small();
    this.textures = [...this.prepared, ...this.pooled, ...this.across, ...this.sums, this.squares, this.squaresPooled, this.squaresAcross, this.squaresSum];
    if (!this.framebuffer) this.framebuffer = gl.createFramebuffer();
    this.size = [width, height];
  }

  // Draw `program` into `outputs` (textures, or null for the canvas) of `size`, with `inputs` {uniform: texture}
  // and `set(gl, location)` for its other uniforms.
  pass(program, outputs, size, inputs, set) {
    const gl = this.gl;
    if (outputs) {
      gl.bindFramebuffer(gl.FRAMEBUFFER, this.framebuffer);
      outputs.forEach((texture, i) => gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D, texture, 0));
      for (let i = outputs.length; i < 3; i++) gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + i, gl.TEXTURE_2D, null, 0);
      gl.drawBuffers(outputs.map((_, i) => gl.COLOR_ATTACHMENT0 + i));
    } else {
      gl.bindFramebuffer(gl.FRAMEBUFFER, null);
    }
    gl.viewport(0, 0, size[0], size[1]);
    gl.useProgram(program);
    Object.entries(inputs).forEach(([name, texture], unit) => {
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, texture);
      gl.uniform1i(gl.getUniformLocation(program, name), unit);
    });
    set((name) => gl.getUniformLocation(program, name));
    gl.bindVertexArray(this.vao);
    gl.drawArrays(gl.TRIANGLES, 0, 3);
    gl.bindVertexArray(null);
  }

  // Box means of `inputs` (full size) into `outputs` (small), through `pooled` and `across`.
  boxMeans(inputs, pooled, across, outputs) {
    const gl = this.gl, n = inputs.length, { shrink, smallRadius } = this.window;
    const named = (textures) => Object.fromEntries(textures.map((texture, i) => [`uIn${i}`, texture]));
    const pool = this.programs[`pool${n}`], box = this.programs[`box${n}`];
    let source = inputs;
    if (shrink > 1) {
      this.pass(pool, pooled, this.small, named(inputs), (at) => {
        gl.uniform2i(at("uSource"), this.size[0], this.size[1]);
        gl.uniform2i(at("uTarget"), this.small[0], this.small[1]);
        gl.uniform1i(at("uShrink"), shrink);
      });
      source = pooled;
    }
    this.pass(box, across, this.small, named(source), (at) => {
      gl.uniform2i(at("uTarget"), this.small[0], this.small[1]);
      gl.uniform2i(at("uAxis"), 0, 1);
      gl.uniform1i(at("uRadius"), smallRadius);
    });
    this.pass(box, outputs, this.small, named(across), (at) => {
      gl.uniform2i(at("uTarget"), this.small[0], this.small[1]);
      gl.uniform2i(at("uAxis"), 1, 0);
      gl.uniform1i(at("uRadius"), smallRadius);
    });
  }

  // Blend the copies rendered into `first` and `second` (premultiplied colour and alpha) onto the canvas.
  run(first, second, weights, background, width, height) {
    const gl = this.gl;
    this.ensure(width, height);
    const copies = (at) => {
      gl.uniform2f(at("uWeights"), weights[0], weights[1]);
      gl.uniform2i(at("uFull"), width, height);
    };
    const upsampled = (at) => {
      copies(at);
      gl.uniform2i(at("uSmall"), this.small[0], this.small[1]);
      gl.uniform1i(at("uShrink"), this.window.shrink);
    };
    this.pass(this.programs.prepare, this.prepared, this.size, { uFirst: first, uSecond: second }, copies);
    this.boxMeans(this.prepared, this.pooled, this.across, this.sums);
    const sums = { uSumFirst: this.sums[0], uSumSecond: this.sums[1], uSumMixed: this.sums[2] };
    this.pass(this.programs.squares, [this.squares], this.size, { uFirst: first, uSecond: second, ...sums }, upsampled);
    this.boxMeans([this.squares], [this.squaresPooled], [this.squaresAcross], [this.squaresSum]);
    this.pass(this.programs.final, null, this.size, { uFirst: first, uSecond: second, ...sums, uSquares: this.squaresSum }, (at) => {
      upsampled(at);
      gl.uniform3fv(at("uBackground"), background);
    });
  }
}
