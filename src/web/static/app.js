// matcoach companion page: the live state (server-sent events) and
// recording your own voice. Served from the binary; no library.
"use strict";

function follow() {
  const live = document.getElementById("live");
  if (!live || !window.EventSource) return;
  const es = new EventSource("/events");
  es.onmessage = (m) => {
    const s = JSON.parse(m.data);
    live.dataset.state = s.state;
    // The words come from the server, in the coach's language.
    document.getElementById("live-state").textContent = s.label;
    document.getElementById("live-program").textContent = s.program_label;
    document.getElementById("live-saying").textContent = s.saying;
    const allowed = {
      start: s.state === "idle",
      pause: s.state === "coaching",
      resume: s.state === "paused",
      end: s.state === "coaching" || s.state === "paused",
    };
    for (const b of document.querySelectorAll("button[data-button]")) {
      if (live.querySelector(".note")) continue; // served without a coach
      b.disabled = !allowed[b.dataset.button];
    }
  };
}

// 16-bit PCM mono WAV from an AudioBuffer (the server keeps only WAV).
function wav(buffer) {
  const data = buffer.getChannelData(0);
  const rate = buffer.sampleRate;
  const out = new DataView(new ArrayBuffer(44 + data.length * 2));
  const str = (o, s) => { for (let i = 0; i < s.length; i++) out.setUint8(o + i, s.charCodeAt(i)); };
  str(0, "RIFF"); out.setUint32(4, 36 + data.length * 2, true); str(8, "WAVE");
  str(12, "fmt "); out.setUint32(16, 16, true); out.setUint16(20, 1, true); out.setUint16(22, 1, true);
  out.setUint32(24, rate, true); out.setUint32(28, rate * 2, true); out.setUint16(32, 2, true); out.setUint16(34, 16, true);
  str(36, "data"); out.setUint32(40, data.length * 2, true);
  for (let i = 0; i < data.length; i++) {
    const v = Math.max(-1, Math.min(1, data[i]));
    out.setInt16(44 + i * 2, v < 0 ? v * 0x8000 : v * 0x7fff, true);
  }
  return new Blob([out], { type: "audio/wav" });
}

// Upload a WAV for a phrase; the answer (kept, or why not) goes in its row.
async function upload(row, blob) {
  const table = document.getElementById("phrases");
  const url = `/voice/${table.dataset.voice}/${table.dataset.lang}/${row.dataset.phrase}`;
  const r = await fetch(url, { method: "POST", body: blob, headers: { "Content-Type": "audio/wav" } });
  const text = await r.text();
  row.querySelector(".status").textContent = text;
  if (r.ok) {
    row.dataset.recorded = "true";
    row.querySelector("audio").src = url + "?t=" + Date.now();
  }
  return r.status;
}
window.matcoachUpload = upload;

function recorder() {
  const table = document.getElementById("phrases");
  if (!table) return;
  for (const row of table.querySelectorAll("tr[data-phrase]")) {
    const rec = row.querySelector("button.record");
    const keep = row.querySelector("button.keep");
    let media = null, chunks = [], take = null;
    rec.onclick = async () => {
      if (media && media.state === "recording") { media.stop(); return; }
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
      media = new MediaRecorder(stream);
      chunks = [];
      media.ondataavailable = (e) => chunks.push(e.data);
      media.onstop = async () => {
        stream.getTracks().forEach((t) => t.stop());
        rec.textContent = rec.dataset.label;
        const raw = await new Blob(chunks).arrayBuffer();
        const ctx = new AudioContext();
        take = wav(await ctx.decodeAudioData(raw));
        row.querySelector("audio").src = URL.createObjectURL(take);
        keep.hidden = false;
      };
      rec.dataset.label = rec.textContent;
      rec.textContent = "■";
      media.start();
    };
    keep.onclick = async () => { if (take) { await upload(row, take); keep.hidden = true; } };
  }
}

document.addEventListener("DOMContentLoaded", () => { follow(); recorder(); });
