// Draws the Parley app icons (a speech bubble on an indigo gradient) as PNGs,
// with nothing but node:zlib. Run: node scripts/make-icons.mjs (output: public/).
import { deflateSync } from 'node:zlib'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const out = (name) => fileURLToPath(new URL(`../public/${name}`, import.meta.url))

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
function crc32(buf) {
  let c = 0xffffffff
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
function chunk(type, data) {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}
function encodePng(size, rgba) {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  const raw = Buffer.alloc((size * 4 + 1) * size)
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0 // filter: none
    rgba.copy(raw, y * (size * 4 + 1) + 1, y * size * 4, (y + 1) * size * 4)
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const inRoundRect = (x, y, cx, cy, hw, hh, r) => {
  const qx = Math.abs(x - cx) - (hw - r)
  const qy = Math.abs(y - cy) - (hh - r)
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r <= 0
}
const inCircle = (x, y, cx, cy, r) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r
const inTriangle = (x, y, [a, b, c]) => {
  const s = (p, q) => (x - q[0]) * (p[1] - q[1]) - (p[0] - q[0]) * (y - q[1])
  const d1 = s(a, b),
    d2 = s(b, c),
    d3 = s(c, a)
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0))
}
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t)
const FROM = [99, 102, 241] // #6366f1
const TO = [139, 92, 246] // #8b5cf6
const INK = [67, 56, 202] // #4338ca

/** Colour of one point in unit coordinates, or null where transparent. */
function sample(x, y, { maskable }) {
  const bg = maskable ? true : inRoundRect(x, y, 0.5, 0.5, 0.5, 0.5, 0.22)
  if (!bg) return null
  // Maskable icons keep the glyph inside the 80 % safe zone.
  const k = maskable ? 0.78 : 1
  const gx = 0.5 + (x - 0.5) / k
  const gy = 0.5 + (y - 0.5) / k
  const bubble =
    inRoundRect(gx, gy, 0.5, 0.46, 0.29, 0.205, 0.12) ||
    inTriangle(gx, gy, [
      [0.33, 0.6],
      [0.29, 0.79],
      [0.49, 0.63],
    ])
  if (bubble) {
    const dot = [0.385, 0.5, 0.615].some((cx) => inCircle(gx, gy, cx, 0.46, 0.042))
    return dot ? INK : [255, 255, 255]
  }
  return mix(FROM, TO, (x + y) / 2)
}

function draw(size, opts) {
  const ss = 4
  const rgba = Buffer.alloc(size * size * 4)
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const c = sample((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size, opts)
          if (!c) continue
          r += c[0]
          g += c[1]
          b += c[2]
          a += 1
        }
      }
      const i = (py * size + px) * 4
      if (a > 0) {
        rgba[i] = Math.round(r / a)
        rgba[i + 1] = Math.round(g / a)
        rgba[i + 2] = Math.round(b / a)
        rgba[i + 3] = Math.round((a / (ss * ss)) * 255)
      }
    }
  }
  return encodePng(size, rgba)
}

const icons = [
  ['icon-192.png', 192, { maskable: false }],
  ['icon-512.png', 512, { maskable: false }],
  ['icon-maskable-512.png', 512, { maskable: true }],
  ['apple-touch-icon.png', 180, { maskable: true }],
  ['favicon.png', 32, { maskable: false }],
]
for (const [name, size, opts] of icons) {
  writeFileSync(out(name), draw(size, opts))
  console.log(`wrote public/${name}`)
}

writeFileSync(
  out('favicon.svg'),
  `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">
  <defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#6366f1"/><stop offset="1" stop-color="#8b5cf6"/></linearGradient></defs>
  <rect width="100" height="100" rx="22" fill="url(#g)"/>
  <rect x="21" y="25.5" width="58" height="41" rx="12" fill="#fff"/>
  <path d="M33 60 L29 79 L49 63 Z" fill="#fff"/>
  <circle cx="38.5" cy="46" r="4.2" fill="#4338ca"/><circle cx="50" cy="46" r="4.2" fill="#4338ca"/><circle cx="61.5" cy="46" r="4.2" fill="#4338ca"/>
</svg>
`,
)
console.log('wrote public/favicon.svg')
