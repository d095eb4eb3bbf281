(()=>{function N(o,s){let[i,t,e]=o,a=Math.cos(s),r=Math.sin(s),c=1-a;return[c*i*i+a,c*i*t-r*e,c*i*e+r*t,c*i*t+r*e,c*t*t+a,c*t*e-r*i,c*i*e-r*t,c*t*e+r*i,c*e*e+a]}function q(o,s){let i=new Array(9);for(let t=0;t<3;t++)for(let e=0;e<3;e++)i[3*t+e]=o[3*t]*s[e]+o[3*t+1]*s[3+e]+o[3*t+2]*s[6+e];return i}function Q(o,s){return[o[0]*s[0]+o[1]*s[1]+o[2]*s[2],o[3]*s[0]+o[4]*s[1]+o[5]*s[2],o[6]*s[0]+o[7]*s[1]+o[8]*s[2]]}var U=class{constructor(s){let i=s.camera,t=i.camera_to_world;this.rotation0=[t[0][0],t[0][1],t[0][2],t[1][0],t[1][1],t[1][2],t[2][0],t[2][1],t[2][2]],this.centre0=[t[0][3],t[1][3],t[2][3]],this.right0=[t[0][0],t[1][0],t[2][0]],this.up0=[t[0][1],t[1][1],t[2][1]];let e=[-t[0][2],-t[1][2],-t[2][2]];this.pivot=this.centre0.map((a,r)=>a+e[r]*i.pivot_depth),this.intrinsics=i,this.limits=s.view_limits,this.reset()}reset(){this.yaw=0,this.pitch=0,this.panX=0,this.panY=0,this.zoom=1}isAtInput(){return this.yaw===0&&this.pitch===0&&this.panX===0&&this.panY===0&&this.zoom===1}orbit(s,i){this.yaw+=s,this.pitch+=i;let t=this.limits.orbit_degrees,e=Math.hypot(this.yaw,this.pitch);e>t&&(this.yaw*=t/e,this.pitch*=t/e)}pan(s,i){this.panX+=s,this.panY+=i;let t=this.limits.pan,e=Math.hypot(this.panX,this.panY);e>t&&(this.panX*=t/e,this.panY*=t/e)}zoomBy(s){let[i,t]=this.limits.zoom;this.zoom=Math.min(Math.max(this.zoom*s,i),t)}view(s,i){let t=N(this.up0,this.yaw*Math.PI/180),e=N(this.right0,this.pitch*Math.PI/180),a=q(t,e),r=q(a,this.rotation0),c=this.centre0.map((d,E)=>d-this.pivot[E]),n=Q(a,c),l=[r[0],r[3],r[6]],u=[r[1],r[4],r[7]],m=n.map((d,E)=>this.pivot[E]+d+l[E]*this.panX+u[E]*this.panY),p=[l,u.map(d=>-d),[-r[2],-r[5],-r[8]]],g=[...p[0],...p[1],...p[2]],A=p.map(d=>-(d[0]*m[0]+d[1]*m[1]+d[2]*m[2])),v=this.intrinsics,h=i/v.height;return{rotation:g,translation:A,fx:v.fx*h*this.zoom,fy:v.fy*h*this.zoom,cx:v.cx*h+(s-v.width*h)/2,cy:v.cy*h,width:s,height:i}}};function z(o){let s=Math.floor(o);return o-s!==.5?Math.round(o):s%2===0?s:s+1}function Z(o,s){let i=Math.max(1,z(.03*Math.max(o,s))),t=Math.max(1,Math.floor(i/4)),e=Math.max(1,z(i/t));return{radius:i,shrink:t,smallRadius:e}}var B=`#version 300 es
precision highp float;
precision highp int;
ivec2 imagePixel(ivec2 size) { return ivec2(int(gl_FragCoord.x), size.y - 1 - int(gl_FragCoord.y)); }
vec4 fetchImage(highp sampler2D image, ivec2 size, ivec2 p) { return texelFetch(image, ivec2(p.x, size.y - 1 - p.y), 0); }
`,tt=`#version 300 es
void main() {
  vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}`,L=`
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
`,O=`
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
`,et=`${B}${L}
layout(location = 0) out vec4 outFirst;
layout(location = 1) out vec4 outSecond;
layout(location = 2) out vec4 outMixed;
void main() {
  Copies c = readCopies(imagePixel(uFull));
  outFirst = vec4(c.a * c.alphaA, c.alphaA);
  outSecond = vec4(c.b * c.alphaB, c.alphaB);
  outMixed = vec4(c.mixed * c.coverage, c.coverage);
}`;function Y(o){return Array.from({length:o},(s,i)=>`uniform highp sampler2D uIn${i};
layout(location = ${i}) out vec4 out${i};`).join(`
`)}function k(o){let s=Array.from({length:o},(e,a)=>`out${a} = sum${a} / n;`).join(`
  `),i=Array.from({length:o},(e,a)=>`vec4 sum${a} = vec4(0.0);`).join(" "),t=Array.from({length:o},(e,a)=>`sum${a} += fetchImage(uIn${a}, uSource, q);`).join(" ");return`${B}${Y(o)}
uniform ivec2 uSource;
uniform ivec2 uTarget;
uniform int uShrink;
void main() {
  ivec2 p = imagePixel(uTarget);
  ${i}
  float n = 0.0;
  for (int dy = 0; dy < 64; dy++) {
    if (dy >= uShrink) break;
    for (int dx = 0; dx < 64; dx++) {
      if (dx >= uShrink) break;
      ivec2 q = p * uShrink + ivec2(dx, dy);
      if (q.x < uSource.x && q.y < uSource.y) { ${t} n += 1.0; }
    }
  }
  ${s}
}`}function G(o){let s=Array.from({length:o},(e,a)=>`vec4 sum${a} = vec4(0.0);`).join(" "),i=Array.from({length:o},(e,a)=>`sum${a} += fetchImage(uIn${a}, uTarget, q);`).join(" "),t=Array.from({length:o},(e,a)=>`out${a} = sum${a} / float(2 * uRadius + 1);`).join(`
  `);return`${B}${Y(o)}
uniform ivec2 uTarget;
uniform ivec2 uAxis;
uniform int uRadius;
void main() {
  ivec2 p = imagePixel(uTarget);
  ${s}
  for (int k = -64; k <= 64; k++) {
    if (k < -uRadius) continue;
    if (k > uRadius) break;
    ivec2 q = p + k * uAxis;
    if (q.x >= 0 && q.y >= 0 && q.x < uTarget.x && q.y < uTarget.y) { ${i} }
  }
  ${t}
}`}var V=`
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
`,st=`${B}${L}${O}${V}
out vec4 outSquares;
void main() {
  ivec2 p = imagePixel(uFull);
  Copies c = readCopies(p);
  Local l = local(c, p);
  outSquares = vec4(meanSquare(l.deviations[0]) * c.alphaA, meanSquare(l.deviations[1]) * c.alphaB,
                    meanSquare(l.deviations[2]) * c.coverage, 0.0);
}`,it=`${B}${L}${O}${V}
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
}`;function w(o,s){let i=o.createProgram();for(let[t,e]of[[o.VERTEX_SHADER,tt],[o.FRAGMENT_SHADER,s]]){let a=o.createShader(t);if(o.shaderSource(a,e),o.compileShader(a),!o.getShaderParameter(a,o.COMPILE_STATUS))throw new Error(`blend shader: ${o.getShaderInfoLog(a)}`);o.attachShader(i,a)}if(o.linkProgram(i),!o.getProgramParameter(i,o.LINK_STATUS))throw new Error(`blend program: ${o.getProgramInfoLog(i)}`);return i}var D=class{constructor(s){this.gl=s,this.programs={prepare:w(s,et),pool3:w(s,k(3)),box3:w(s,G(3)),pool1:w(s,k(1)),box1:w(s,G(1)),squares:w(s,st),final:w(s,it)},this.vao=s.createVertexArray(),this.size=[0,0]}texture(s,i){let t=this.gl,e=t.createTexture();return t.bindTexture(t.TEXTURE_2D,e),t.texParameteri(t.TEXTURE_2D,t.TEXTURE_MIN_FILTER,t.NEAREST),t.texParameteri(t.TEXTURE_2D,t.TEXTURE_MAG_FILTER,t.NEAREST),t.texStorage2D(t.TEXTURE_2D,1,t.RGBA32F,s,i),e}ensure(s,i){if(this.size[0]===s&&this.size[1]===i)return;let t=this.gl;for(let l of this.textures||[])t.deleteTexture(l);this.window=Z(s,i);let e=this.window.shrink;this.small=[Math.ceil(s/e),Math.ceil(i/e)];let[a,r]=this.small,c=()=>this.texture(s,i),n=()=>this.texture(a,r);this.prepared=[c(),c(),c()],this.pooled=[n(),n(),n()],this.across=[n(),n(),n()],this.sums=[n(),n(),n()],this.squares=c(),this.squaresPooled=n(),this.squaresAcross=n(),this.squaresSum=n(),this.textures=[...this.prepared,...this.pooled,...this.across,...this.sums,this.squares,this.squaresPooled,this.squaresAcross,this.squaresSum],this.framebuffer||(this.framebuffer=t.createFramebuffer()),this.size=[s,i]}pass(s,i,t,e,a){let r=this.gl;if(i){r.bindFramebuffer(r.FRAMEBUFFER,this.framebuffer),i.forEach((c,n)=>r.framebufferTexture2D(r.FRAMEBUFFER,r.COLOR_ATTACHMENT0+n,r.TEXTURE_2D,c,0));for(let c=i.length;c<3;c++)r.framebufferTexture2D(r.FRAMEBUFFER,r.COLOR_ATTACHMENT0+c,r.TEXTURE_2D,null,0);r.drawBuffers(i.map((c,n)=>r.COLOR_ATTACHMENT0+n))}else r.bindFramebuffer(r.FRAMEBUFFER,null);r.viewport(0,0,t[0],t[1]),r.useProgram(s),Object.entries(e).forEach(([c,n],l)=>{r.activeTexture(r.TEXTURE0+l),r.bindTexture(r.TEXTURE_2D,n),r.uniform1i(r.getUniformLocation(s,c),l)}),a(c=>r.getUniformLocation(s,c)),r.bindVertexArray(this.vao),r.drawArrays(r.TRIANGLES,0,3),r.bindVertexArray(null)}boxMeans(s,i,t,e){let a=this.gl,r=s.length,{shrink:c,smallRadius:n}=this.window,l=g=>Object.fromEntries(g.map((A,v)=>[`uIn${v}`,A])),u=this.programs[`pool${r}`],m=this.programs[`box${r}`],p=s;c>1&&(this.pass(u,i,this.small,l(s),g=>{a.uniform2i(g("uSource"),this.size[0],this.size[1]),a.uniform2i(g("uTarget"),this.small[0],this.small[1]),a.uniform1i(g("uShrink"),c)}),p=i),this.pass(m,t,this.small,l(p),g=>{a.uniform2i(g("uTarget"),this.small[0],this.small[1]),a.uniform2i(g("uAxis"),0,1),a.uniform1i(g("uRadius"),n)}),this.pass(m,e,this.small,l(t),g=>{a.uniform2i(g("uTarget"),this.small[0],this.small[1]),a.uniform2i(g("uAxis"),1,0),a.uniform1i(g("uRadius"),n)})}run(s,i,t,e,a,r){let c=this.gl;this.ensure(a,r);let n=m=>{c.uniform2f(m("uWeights"),t[0],t[1]),c.uniform2i(m("uFull"),a,r)},l=m=>{n(m),c.uniform2i(m("uSmall"),this.small[0],this.small[1]),c.uniform1i(m("uShrink"),this.window.shrink)};this.pass(this.programs.prepare,this.prepared,this.size,{uFirst:s,uSecond:i},n),this.boxMeans(this.prepared,this.pooled,this.across,this.sums);let u={uSumFirst:this.sums[0],uSumSecond:this.sums[1],uSumMixed:this.sums[2]};this.pass(this.programs.squares,[this.squares],this.size,{uFirst:s,uSecond:i,...u},l),this.boxMeans([this.squares],[this.squaresPooled],[this.squaresAcross],[this.squaresSum]),this.pass(this.programs.final,null,this.size,{uFirst:s,uSecond:i,...u,uSquares:this.squaresSum},m=>{l(m),c.uniform3fv(m("uBackground"),e)})}};var C=class{constructor(s){this.keys=new Uint16Array(s),this.counts=new Uint32Array(65536),this.order=new Uint32Array(s),this.visible=new Uint8Array(s)}sort(s,i,t,e,a){let[r,c,n]=t,l=1/0,u=-1/0,m=this.depths&&this.depths.length>=i?this.depths:this.depths=new Float32Array(i);for(let h=0;h<i;h++){let d=r*s[3*h]+c*s[3*h+1]+n*s[3*h+2]+e;m[h]=d,d>a&&(d<l&&(l=d),d>u&&(u=d))}let p=this.counts;p.fill(0);let g=u>l?65535/(u-l):0,A=0;for(let h=0;h<i;h++){let d=m[h];if(d>a){let E=65535-(d-l)*g|0;this.keys[h]=E,this.visible[h]=1,p[E]++,A++}else this.visible[h]=0}let v=0;for(let h=0;h<65536;h++){let d=p[h];p[h]=v,v+=d}for(let h=i-1;h>=0;h--)this.visible[h]&&(this.order[p[this.keys[h]]++]=h);return A}};var _=2048,H=.01,ot=`#version 300 es
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
  ivec2 texel = ivec2(int(aIndex & ${_-1}u), int(aIndex >> ${Math.log2(_)}u));
  vec3 world = texelFetch(uCentres, texel, 0).xyz;
  vec3 p = uRotation * world + uTranslation;
  gl_Position = vec4(0.0, 0.0, 2.0, 1.0);
  if (p.z <= ${H}) return;
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
}`,rt=`#version 300 es
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
}`,at=`#version 300 es
void main() {
  vec2 corner = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
  gl_Position = vec4(corner * 2.0 - 1.0, 0.0, 1.0);
}`,nt=`#version 300 es
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
}`;function j(o,s,i){let t=o.createProgram();for(let[e,a]of[[o.VERTEX_SHADER,s],[o.FRAGMENT_SHADER,i]]){let r=o.createShader(e);if(o.shaderSource(r,a),o.compileShader(r),!o.getShaderParameter(r,o.COMPILE_STATUS))throw new Error(`shader: ${o.getShaderInfoLog(r)}`);o.attachShader(t,r)}if(o.linkProgram(t),!o.getProgramParameter(t,o.LINK_STATUS))throw new Error(`program: ${o.getProgramInfoLog(t)}`);return t}function P(o,s,i,t,e,a){let r=o.createTexture();return o.bindTexture(o.TEXTURE_2D,r),o.texParameteri(o.TEXTURE_2D,o.TEXTURE_MIN_FILTER,o.NEAREST),o.texParameteri(o.TEXTURE_2D,o.TEXTURE_MAG_FILTER,o.NEAREST),o.texImage2D(o.TEXTURE_2D,0,s,_,a,0,i,t,e),r}var M=class{constructor(s,i){let t=s.getContext("webgl2",{antialias:!1,alpha:!1,preserveDrawingBuffer:!0});if(!t)throw new Error("this browser has no WebGL2");this.gl=t,this.canvas=s,this.scene=i;let e=t.getExtension("EXT_color_buffer_float");this.targetFormat=e&&t.getExtension("EXT_float_blend")?t.RGBA32F:e?t.RGBA16F:t.RGBA8;let a=i.header.loop.blend==="contrast-preserving";a&&!e&&console.warn("no float render targets: the loop's copies are blended linearly"),this.contrast=a&&e?new D(t):null,this.splatProgram=j(t,ot,rt),this.blendProgram=j(t,at,nt);let r=i.total;this.rows=Math.max(1,Math.ceil(r/_));let c=this.rows*_;this.positions=new Float32Array(r*3),this.positions.set(i.positions),this.covariances=new Float32Array(r*6),this.covariances.set(i.covariances),this.centreTexels=new Float32Array(c*4),this.covTexelsA=new Float32Array(c*4),this.covTexelsB=new Float32Array(c*4),this.packAll(0,r),this.centres=P(t,t.RGBA32F,t.RGBA,t.FLOAT,this.centreTexels,this.rows),this.covA=P(t,t.RGBA32F,t.RGBA,t.FLOAT,this.covTexelsA,this.rows),this.covB=P(t,t.RGBA32F,t.RGBA,t.FLOAT,this.covTexelsB,this.rows);let n=new Uint8Array(c*4);n.set(i.colours),this.colours=P(t,t.RGBA8,t.RGBA,t.UNSIGNED_BYTE,n,this.rows),this.movingRows=Math.ceil(i.moving/_),this.sorter=new C(r),this.vao=t.createVertexArray(),t.bindVertexArray(this.vao),this.indexBuffer=t.createBuffer(),t.bindBuffer(t.ARRAY_BUFFER,this.indexBuffer),t.bufferData(t.ARRAY_BUFFER,r*4,t.DYNAMIC_DRAW);let l=t.getAttribLocation(this.splatProgram,"aIndex");t.enableVertexAttribArray(l),t.vertexAttribIPointer(l,1,t.UNSIGNED_INT,0,0),t.vertexAttribDivisor(l,1),t.bindVertexArray(null),this.emptyVao=t.createVertexArray(),this.targets=[],this.size=[0,0]}packAll(s,i){let t=this.positions,e=this.covariances,a=this.centreTexels,r=this.covTexelsA,c=this.covTexelsB;for(let n=s;n<i;n++)a[4*n]=t[3*n],a[4*n+1]=t[3*n+1],a[4*n+2]=t[3*n+2],r[4*n]=e[6*n],r[4*n+1]=e[6*n+1],r[4*n+2]=e[6*n+2],r[4*n+3]=e[6*n+3],c[4*n]=e[6*n+4],c[4*n+1]=e[6*n+5]}ensureTargets(s,i){if(this.size[0]===s&&this.size[1]===i)return;let t=this.gl;for(let e of this.targets)t.deleteFramebuffer(e.framebuffer),t.deleteTexture(e.texture);this.targets=[0,1].map(()=>{let e=t.createTexture();t.bindTexture(t.TEXTURE_2D,e),t.texParameteri(t.TEXTURE_2D,t.TEXTURE_MIN_FILTER,t.NEAREST),t.texParameteri(t.TEXTURE_2D,t.TEXTURE_MAG_FILTER,t.NEAREST),t.texStorage2D(t.TEXTURE_2D,1,this.targetFormat,s,i);let a=t.createFramebuffer();return t.bindFramebuffer(t.FRAMEBUFFER,a),t.framebufferTexture2D(t.FRAMEBUFFER,t.COLOR_ATTACHMENT0,t.TEXTURE_2D,e,0),{texture:e,framebuffer:a}}),t.bindFramebuffer(t.FRAMEBUFFER,null),this.size=[s,i]}renderCopy(s,i,t){let e=this.gl,a=this.scene;if(a.moving>0){a.poseInto(s,this.positions,this.covariances),this.packAll(0,a.moving);let l=this.movingRows*_*4;e.bindTexture(e.TEXTURE_2D,this.centres),e.texSubImage2D(e.TEXTURE_2D,0,0,0,_,this.movingRows,e.RGBA,e.FLOAT,this.centreTexels.subarray(0,l)),a.poseRotations&&(e.bindTexture(e.TEXTURE_2D,this.covA),e.texSubImage2D(e.TEXTURE_2D,0,0,0,_,this.movingRows,e.RGBA,e.FLOAT,this.covTexelsA.subarray(0,l)),e.bindTexture(e.TEXTURE_2D,this.covB),e.texSubImage2D(e.TEXTURE_2D,0,0,0,_,this.movingRows,e.RGBA,e.FLOAT,this.covTexelsB.subarray(0,l)))}let r=i.rotation,c=this.sorter.sort(this.positions,a.total,[r[6],r[7],r[8]],i.translation[2],H);e.bindBuffer(e.ARRAY_BUFFER,this.indexBuffer),e.bufferSubData(e.ARRAY_BUFFER,0,this.sorter.order.subarray(0,c)),e.bindFramebuffer(e.FRAMEBUFFER,t.framebuffer),e.viewport(0,0,i.width,i.height),e.clearColor(0,0,0,0),e.clear(e.COLOR_BUFFER_BIT),e.useProgram(this.splatProgram);let n=this.splatProgram;[["uCentres",this.centres],["uCovA",this.covA],["uCovB",this.covB],["uColours",this.colours]].forEach(([l,u],m)=>{e.activeTexture(e.TEXTURE0+m),e.bindTexture(e.TEXTURE_2D,u),e.uniform1i(e.getUniformLocation(n,l),m)}),e.uniformMatrix3fv(e.getUniformLocation(n,"uRotation"),!0,r),e.uniform3fv(e.getUniformLocation(n,"uTranslation"),i.translation),e.uniform4f(e.getUniformLocation(n,"uIntrinsics"),i.fx,i.fy,i.cx,i.cy),e.uniform2f(e.getUniformLocation(n,"uSize"),i.width,i.height),e.enable(e.BLEND),e.blendFunc(e.ONE,e.ONE_MINUS_SRC_ALPHA),e.disable(e.DEPTH_TEST),e.bindVertexArray(this.vao),e.drawArraysInstanced(e.TRIANGLE_STRIP,0,4,c),e.bindVertexArray(null),e.disable(e.BLEND)}render(s,i,t){let e=this.gl,a=this.scene.numFrames;s=(s%1+1)%1,this.ensureTargets(i.width,i.height),this.renderCopy(s*a,i,this.targets[0]);let r=[1-s,s];if(s>0?this.renderCopy(-(1-s)*a,i,this.targets[1]):r[1]=0,s>0&&this.contrast){this.contrast.run(this.targets[0].texture,this.targets[1].texture,r,t,i.width,i.height);return}e.bindFramebuffer(e.FRAMEBUFFER,null),e.viewport(0,0,i.width,i.height),e.useProgram(this.blendProgram);let c=this.blendProgram;this.targets.forEach((n,l)=>{e.activeTexture(e.TEXTURE0+l),e.bindTexture(e.TEXTURE_2D,n.texture)}),e.uniform1i(e.getUniformLocation(c,"uFirst"),0),e.uniform1i(e.getUniformLocation(c,"uSecond"),1),e.uniform2f(e.getUniformLocation(c,"uWeights"),r[0],r[1]),e.uniform3fv(e.getUniformLocation(c,"uBackground"),t),e.bindVertexArray(this.emptyVao),e.drawArrays(e.TRIANGLES,0,3),e.bindVertexArray(null)}};var ct={u8:Uint8Array,i8:Int8Array,u16:Uint16Array,f32:Float32Array};function F(o,s,i){let t=s.sections[i];if(!t)return null;let e=ct[t.dtype];if(!e)throw new Error(`scene.json: section ${i} has an unknown dtype ${t.dtype}`);let a=t.shape.reduce((r,c)=>r*c,1);if(t.offset+a*e.BYTES_PER_ELEMENT>o.byteLength)throw new Error(`scene.bin is shorter than its section ${i} needs: the export is incomplete`);return new e(o,t.offset,a)}function W(o,s,i,t,e,a,r,c,n){let l=Math.hypot(o,s,i,t)||1;o/=l,s/=l,i/=l,t/=l;let u=1-2*(i*i+t*t),m=2*(s*i-o*t),p=2*(s*t+o*i),g=2*(s*i+o*t),A=1-2*(s*s+t*t),v=2*(i*t-o*s),h=2*(s*t-o*i),d=2*(i*t+o*s),E=1-2*(s*s+i*i),f=Math.exp(2*e),T=Math.exp(2*a),x=Math.exp(2*r);c[n]=u*u*f+m*m*T+p*p*x,c[n+1]=u*g*f+m*A*T+p*v*x,c[n+2]=u*h*f+m*d*T+p*E*x,c[n+3]=g*g*f+A*A*T+v*v*x,c[n+4]=g*h*f+A*d*T+v*E*x,c[n+5]=h*h*f+d*d*T+E*E*x}var $=class{constructor(s,i){if(s.format!=="mom4d-web"||s.version!==1)throw new Error(`scene.json is not a mom4d web scene of version 1 (format ${s.format}, version ${s.version})`);this.header=s,this.moving=s.counts.moving,this.total=s.counts.moving+s.counts.still,this.numFrames=s.loop.num_frames,this.poseFrames=s.poses.frames;let t=s.bounds.min,e=s.bounds.max,a=F(i,s,"positions");this.positions=new Float32Array(this.total*3);for(let u=0;u<this.total*3;u++){let m=u%3;this.positions[u]=t[m]+a[u]/65535*(e[m]-t[m])}this.colours=F(i,s,"colours");let[r,c]=s.log_scale_range,n=F(i,s,"log_scales");this.logScales=new Float32Array(this.total*3);for(let u=0;u<this.total*3;u++)this.logScales[u]=r+n[u]/255*(c-r);let l=F(i,s,"rotations");this.rotations=new Float32Array(this.total*4);for(let u=0;u<this.total*4;u++)this.rotations[u]=l[u]/127;this.covariances=new Float32Array(this.total*6);for(let u=0;u<this.total;u++){let m=this.rotations,p=this.logScales;W(m[4*u],m[4*u+1],m[4*u+2],m[4*u+3],p[3*u],p[3*u+1],p[3*u+2],this.covariances,6*u)}this.poseBoxes=F(i,s,"pose_boxes"),this.posePositions=F(i,s,"pose_positions"),this.poseRotations=F(i,s,"pose_rotations"),this.poseLogScales=F(i,s,"pose_log_scales")}poseInto(s,i,t){let e=this.moving;if(e===0)return;let a=this.poseFrames,r=a.length-1,c=Math.min(Math.max(s,a[0]),a[r]),n=Math.min(Math.floor((c-a[0])/(a[r]-a[0])*r),r-1);r===0&&(n=0);let l=r===0?0:(c-a[n])/(a[n+1]-a[n]),u=r===0?0:n+1,m=this.poseBoxes,p=this.posePositions,g=n*e*3,A=u*e*3;for(let x=0;x<e;x++)for(let R=0;R<3;R++){let S=m[6*x+R],b=m[6*x+3+R]-S,I=3*x+R,X=p[g+I],J=p[A+I];i[I]=S+b*(X+(J-X)*l)/255}if(!this.poseRotations)return;let[v,h]=this.header.log_scale_range,d=this.poseRotations,E=this.poseLogScales,f=n*e*4,T=u*e*4;for(let x=0;x<e;x++){let R=[0,0,0,0];for(let b=0;b<4;b++)R[b]=(d[f+4*x+b]*(1-l)+d[T+4*x+b]*l)/127;let S=[0,0,0];for(let b=0;b<3;b++){let I=E[g+3*x+b]*(1-l)+E[A+3*x+b]*l;S[b]=v+I/255*(h-v)}W(R[0],R[1],R[2],R[3],S[0],S[1],S[2],t,6*x)}}};async function K(o){let s=await fetch(`${o}scene.json`);if(!s.ok)throw new Error(`could not read scene.json (HTTP ${s.status})`);let i=await s.json(),t=await fetch(`${o}${i.data_file}`);if(!t.ok)throw new Error(`could not read ${i.data_file} (HTTP ${t.status})`);return new $(i,await t.arrayBuffer())}var y={ready:!1,error:null,playing:!1,time:0};window.mom4d=y;function ut(o){y.error=String(o&&o.message?o.message:o);let s=document.getElementById("message");s&&(s.textContent=`This scene could not be shown: ${y.error}`,s.hidden=!1),console.error(o)}function lt(o,s){let i=o.parentElement.getBoundingClientRect(),t=window.devicePixelRatio||1,e=i.width,a=i.width/s;return a>i.height&&(a=i.height,e=a*s),o.style.width=`${e}px`,o.style.height=`${a}px`,[Math.max(1,Math.round(e*t)),Math.max(1,Math.round(a*t))]}async function ht(){let o=document.getElementById("scene"),s=await K("./"),i=s.header,t=new M(o,s),e=new U(i),a=i.camera.width/i.camera.height,r=i.loop.num_frames,c=i.loop.fps,n=i.background,l=document.getElementById("time"),u=document.getElementById("play"),m=document.getElementById("frame");l.max=String(r);let p=!0,g=performance.now(),A=0;function v(){let[f,T]=lt(o,a);(o.width!==f||o.height!==T)&&(o.width=f,o.height=T),t.render(y.time,e.view(f,T),n),l.value=String(y.time*r),m.textContent=`frame ${Math.floor(y.time*r+1e-6)%r+1} / ${r}`,p=!1}function h(f){y.playing=f,u.textContent=f?"Pause":"Play",g=performance.now(),A=y.time}function d(f){if(y.playing){let x=Math.floor(A*r+(f-g)/1e3*c)%r/r;x!==y.time&&(y.time=x,p=!0)}p&&v(),requestAnimationFrame(d)}u.addEventListener("click",()=>h(!y.playing)),l.addEventListener("input",()=>{h(!1),y.time=Number(l.value)/r%1,p=!0}),document.getElementById("reset").addEventListener("click",()=>{e.reset(),p=!0}),window.addEventListener("resize",()=>{p=!0});let E=null;o.addEventListener("contextmenu",f=>f.preventDefault()),o.addEventListener("pointerdown",f=>{E={x:f.clientX,y:f.clientY,pan:f.button===2||f.shiftKey},o.setPointerCapture(f.pointerId)}),o.addEventListener("pointermove",f=>{if(!E)return;let T=f.clientX-E.x,x=f.clientY-E.y;E.x=f.clientX,E.y=f.clientY;let R=o.getBoundingClientRect().height;if(E.pan){let S=i.camera.pivot_depth*i.camera.height/i.camera.fy/R;e.pan(-T*S,x*S)}else e.orbit(-T/R*2*i.view_limits.orbit_degrees,-x/R*2*i.view_limits.orbit_degrees);p=!0}),o.addEventListener("pointerup",()=>{E=null}),o.addEventListener("wheel",f=>{f.preventDefault(),e.zoomBy(Math.exp(-f.deltaY*.001)),p=!0},{passive:!1}),Object.assign(y,{frames:r,fps:c,setTime(f){h(!1),y.time=(f%1+1)%1,v()},play(){h(!0)},pause(){h(!1)},resetView(){e.reset(),v()},camera:e,snapshot(f){return y.setTime(f),o.toDataURL("image/png")},timeFrames(f){let T=t.gl,x=new Uint8Array(4),R=performance.now();for(let S=0;S<f;S++)y.time=S%r/r,v(),T.readPixels(0,0,1,1,T.RGBA,T.UNSIGNED_BYTE,x);return(performance.now()-R)/f}}),v(),t.gl.readPixels(0,0,1,1,t.gl.RGBA,t.gl.UNSIGNED_BYTE,new Uint8Array(4)),y.loadMilliseconds=performance.now(),y.ready=!0,h(!0),requestAnimationFrame(d)}ht().catch(ut);})();
