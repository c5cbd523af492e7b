// Writes a Brotli (.br) and a gzip (.gz) copy next to every text file of the
// built app, once, at the highest levels — the server sends the one the
// browser accepts (apps/server/src/static.ts) instead of compressing per
// request. Runs after `vite build` and vite-plugin-pwa (so the service
// worker is included). Run: node scripts/precompress.mjs [dir] (default: dist).
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'

const TEXT = new Set(['.html', '.js', '.mjs', '.css', '.json', '.webmanifest', '.svg', '.txt'])
/** Below this a file fits in one packet either way; compressing it only costs the client a decoder. */
const MIN_BYTES = 1024
/** A copy that saves less than this share of the file is not worth a second variant. */
const MIN_SAVING = 0.1

const brotli = promisify(brotliCompress)
const gz = promisify(gzip)

const dir = path.resolve(process.argv[2] ?? 'dist')
const entries = await readdir(dir, { recursive: true, withFileTypes: true })
const files = entries.filter((e) => e.isFile() && TEXT.has(path.extname(e.name))).map((e) => path.join(e.parentPath ?? e.path, e.name))

let raw = 0
let br = 0
let gzipped = 0
let count = 0
await Promise.all(
  files.map(async (file) => {
    const data = await readFile(file)
    if (data.length < MIN_BYTES) return
    const [b, g] = await Promise.all([
      brotli(data, { params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: data.length } }),
      gz(data, { level: constants.Z_BEST_COMPRESSION }),
    ])
    const worth = (c) => c.length <= data.length * (1 - MIN_SAVING)
    if (!worth(b) && !worth(g)) return
    count++
    raw += data.length
    if (worth(b)) await writeFile(`${file}.br`, b)
    if (worth(g)) await writeFile(`${file}.gz`, g)
    br += worth(b) ? b.length : data.length
    gzipped += worth(g) ? g.length : data.length
  }),
)
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`
console.log(`precompressed ${count} files in ${path.relative(process.cwd(), dir) || '.'}: ${kib(raw)} → ${kib(br)} brotli, ${kib(gzipped)} gzip`)
