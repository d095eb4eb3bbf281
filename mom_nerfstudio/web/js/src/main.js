// The page: loads the scene next to it, shows it from the input view at once and plays the loop at its frame
// rate; drag to orbit, right-drag (or shift-drag) to pan, wheel to zoom, within the range the views covered.
// `window.mom4d` lets scripts (the tests, the benchmark) drive it: setTime, play, pause, resetView, snapshot.

import { ViewCamera } from "./camera.js";
import { SplatRenderer } from "./renderer.js";
import { loadScene } from "./scene.js";

const api = { ready: false, error: null, playing: false, time: 0 };
window.mom4d = api;

function fail(error) {
  api.error = String(error && error.message ? error.message : error);
  const message = document.getElementById("message");
  if (message) { message.textContent = `This scene could not be shown: ${api.error}`; message.hidden = false; }
  console.error(error);
}

function canvasSize(canvas, aspect) {
  const box = canvas.parentElement.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  let width = box.width, height = box.width / aspect;
  if (height > box.height) { height = box.height; width = height * aspect; }
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  return [Math.max(1, Math.round(width * ratio)), Math.max(1, Math.round(height * ratio))];
}

async function start() {
  const canvas = document.getElementById("scene");
  const scene = await loadScene("./");
  const header = scene.header;
  const renderer = new SplatRenderer(canvas, scene);
  const camera = new ViewCamera(header);
  const aspect = header.camera.width / header.camera.height;
  const frames = header.loop.num_frames, fps = header.loop.fps;
  const background = header.background;
  const slider = document.getElementById("time");
  const playButton = document.getElementById("play");
  const label = document.getElementById("frame");
  slider.max = String(frames);
  let dirty = true, playStart = performance.now(), startTime = 0;

  function draw() {
    const [width, height] = canvasSize(canvas, aspect);
    if (canvas.width !== width || canvas.height !== height) { canvas.width = width; canvas.height = height; }
    renderer.render(api.time, camera.view(width, height), background);
    slider.value = String(api.time * frames);
    label.textContent = `frame ${Math.floor(api.time * frames + 1e-6) % frames + 1} / ${frames}`;
    dirty = false;
  }

  function setPlaying(playing) {
    api.playing = playing;
    playButton.textContent = playing ? "Pause" : "Play";
    playStart = performance.now();
    startTime = api.time;
  }

  function tick(now) {
    if (api.playing) {
      // Whole frames of the loop, at its frame rate.
      const frame = Math.floor(startTime * frames + ((now - playStart) / 1000) * fps) % frames;
      const t = frame / frames;
      if (t !== api.time) { api.time = t; dirty = true; }
    }
    if (dirty) draw();
    requestAnimationFrame(tick);
  }

  playButton.addEventListener("click", () => setPlaying(!api.playing));
  slider.addEventListener("input", () => { setPlaying(false); api.time = (Number(slider.value) / frames) % 1; dirty = true; });
  document.getElementById("reset").addEventListener("click", () => { camera.reset(); dirty = true; });
  window.addEventListener("resize", () => { dirty = true; });

  let drag = null;
  canvas.addEventListener("contextmenu", (event) => event.preventDefault());
  canvas.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, pan: event.button === 2 || event.shiftKey };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    drag.x = event.clientX; drag.y = event.clientY;
    const height = canvas.getBoundingClientRect().height;
    if (drag.pan) {
      // A drag across the canvas's height pans by the pivot's half-height of view.
      const unit = (header.camera.pivot_depth * header.camera.height) / header.camera.fy / height;
      camera.pan(-dx * unit, dy * unit);
    } else {
      camera.orbit((-dx / height) * 2 * header.view_limits.orbit_degrees, (-dy / height) * 2 * header.view_limits.orbit_degrees);
    }
    dirty = true;
  });
  canvas.addEventListener("pointerup", () => { drag = null; });
  canvas.addEventListener("wheel", (event) => { event.preventDefault(); camera.zoomBy(Math.exp(-event.deltaY * 0.001)); dirty = true; }, { passive: false });

  Object.assign(api, {
    frames,
    fps,
    setTime(t) { setPlaying(false); api.time = ((t % 1) + 1) % 1; draw(); },
    play() { setPlaying(true); },
    pause() { setPlaying(false); },
    resetView() { camera.reset(); draw(); },
    camera,
    // The canvas at loop time t (the playback pauses), as a PNG data URL.
    snapshot(t) { api.setTime(t); return canvas.toDataURL("image/png"); },
    // Milliseconds per frame over `count` frames of the loop, each finished before the next starts.
    timeFrames(count) {
      const gl = renderer.gl, pixel = new Uint8Array(4);
      const begin = performance.now();
      for (let i = 0; i < count; i++) {
        api.time = (i % frames) / frames;
        draw();
        gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
      }
      return (performance.now() - begin) / count;
    },
  });
  draw();
  // Reading a pixel waits until the first frame is rendered, not only submitted.
  renderer.gl.readPixels(0, 0, 1, 1, renderer.gl.RGBA, renderer.gl.UNSIGNED_BYTE, new Uint8Array(4));
  api.loadMilliseconds = performance.now();
  api.ready = true;
  setPlaying(true);
  requestAnimationFrame(tick);
}

start().catch(fail);
