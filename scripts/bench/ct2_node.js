// ct2_node.js — CTranslate2's speed through the npm `ctranslate2` binding on a model directory
// written by scripts/bench/ct2_model.py, for scripts/bench/ct2_node.sh.
//
//   node ct2_node.js BINDING_DIR MODEL_DIR THREADS BATCH BEAMS REPS
//
// Translates BATCH random sources of 32 tokens with BEAMS beams, REPS times (no warm-up run: one
// run takes tens of seconds).  The binding sets no decoding length, so every hypothesis runs to
// CTranslate2's default limit (end of sequence is unreachable in that model); the tokens per
// hypothesis are counted from the output.  Prints "key<TAB>value" lines: tokens_per_hyp,
// seconds (median, encoding included), tok_s (every beam's token), cpu_share (process CPU
// time / (wall x threads)).
'use strict';
const [bindingDir, modelDir, ...nums] = process.argv.slice(2);
const [threads, batch, beams, reps] = nums.map(Number);
const { Ct2Translator } = require(bindingDir);

function sources(n) { // n strings of 32 tokens from a fixed seed
  let seed = 12345;
  const out = [];
  for (let b = 0; b < n; b++) {
    const words = [];
    for (let i = 0; i < 32; i++) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      words.push('t' + (4 + (seed >> 8) % 31996));
    }
    out.push(words.join(' '));
  }
  return out;
}

(async () => {
  const tr = new Ct2Translator({ modelPath: modelDir, device: 'cpu', threads });
  const src = sources(batch);
  const times = [];
  let perHyp = 0, cpu = 0, wall = 0;
  for (let r = 1; r <= reps; r++) {
    const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
    const out = await tr.translateBatch(src, { beamSize: beams, maxBatchSize: batch });
    const s = Number(process.hrtime.bigint() - t0) / 1e9, c = process.cpuUsage(c0);
    perHyp = Math.min(...out.map(o => o.text.split(' ').filter(w => w).length));
    times.push(s);
    cpu += (c.user + c.system) / 1e6;
    wall += s;
  }
  times.sort((a, b) => a - b);
  const med = times[times.length >> 1];
  console.log('tokens_per_hyp\t' + perHyp);
  console.log('seconds\t' + med.toFixed(3));
  console.log('tok_s\t' + (batch * beams * perHyp / med).toFixed(1));
  console.log('cpu_share\t' + (cpu / (wall * threads)).toFixed(2));
})().catch(e => { console.error('ct2_node.js: ' + e.message); process.exit(1); });
