// Builds the taskpane's servable site from addin/taskpane/ with esbuild (run by scripts/lib/bundle.sh).
//
//   node scripts/lib/build-taskpane.mjs [--outdir DIR] [--unsplit]
//
// The site (default addin/taskpane/dist/) is what the server serves under /taskpane/:
//
//   taskpane.html, auth-dialog.html  stable names (the manifest and Office's dialog name them by URL), pointing at
//   assets/icon-*.png                the hashed files below; revalidated by ETag
//   static/<name>-<hash>.js|.css     content-hashed, so cached for a year as immutable: main.js, auth-dialog.js,
//                                    taskpane.css, and what main.js imports dynamically, each one file of its own:
//                                    MSAL.js (so the first screen never waits for its parse; the dialog imports the
//                                    same file) and the Danish strings (i18n-da). No shared chunks: the pane loads
//                                    main.js and taskpane.css at start and MSAL.js as one request beside them
//   build.json                       what each page loads at start and what it loads lazily
//   send-guard.js, send-guard.html   the send-time guard: a classic script under a stable name, and its page
//   *.br, *.gz                       beside every text file: precompressed here, once, not per request; images
//                                    are compressed already and get neither
//
// --unsplit builds the way the taskpane was built before code splitting (one file per entry, MSAL.js inside it, no
// hashes, no precompressed files): benchmarks/taskpane.py measures it as the baseline.
//
// A fixed target and no source maps: the same sources and lockfile give the same files, with no local paths.

import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

import * as esbuild from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SOURCE = path.join(ROOT, "addin/taskpane");
const PAGES = { "taskpane.html": "main", "auth-dialog.html": "auth-dialog" };
const COMPRESSIBLE = /\.(html|js|css|json|svg|txt|xml)$/;

function option(name) {
  const at = process.argv.indexOf(name);
  return at === -1 ? null : process.argv[at + 1];
}

const outdir = path.resolve(option("--outdir") || path.join(SOURCE, "dist"));
const unsplit = process.argv.includes("--unsplit");

rmSync(outdir, { recursive: true, force: true });
const common = {
  absWorkingDir: ROOT,
  bundle: true,
  format: "esm",
  target: "es2020",
  platform: "browser",
  minify: true,
  charset: "utf8",
  legalComments: "linked", // licences in a .LEGAL.txt beside each file, named by a comment: not downloaded
  outdir: path.join(outdir, "static"),
  entryNames: unsplit ? "[name]" : "[name]-[hash]",
  metafile: true,
  logLevel: "warning",
};
const outputs = {}; // every build's metafile outputs, by file (relative to ROOT)

// The pages' scripts and the stylesheet. In the unsplit build each script holds everything it imports.
const entries = {
  main: "addin/taskpane/src/main.js",
  "auth-dialog": "addin/taskpane/src/auth-dialog.js",
  taskpane: "addin/taskpane/taskpane.css",
};
// What main.js imports dynamically (by the specifier it uses): each built first as one file of its own, which the
// pages' scripts then import under its hashed name. So the pane loads main.js and the stylesheet at start and each
// of these as one request when it needs it (MSAL.js beside the start, the Danish strings only in Danish), and
// shares no chunk with the sign-in dialog: esbuild's code splitting would put what they share (api.js, auth.js,
// its own helpers, parts of MSAL.js) in chunks that both load at start, a request each. The dialog imports MSAL.js
// statically, the same file, so a pane that has loaded it opens the dialog from its cache.
const LAZY = {
  msal: { specifier: /^@azure\/msal-browser$/, source: "@azure/msal-browser" },
  "i18n-da": { specifier: /^\.\/i18n-da\.js$/, source: "addin/taskpane/src/i18n-da.js" },
};

if (unsplit) {
  Object.assign(outputs, (await esbuild.build({ ...common, entryPoints: entries })).metafile.outputs);
} else {
  const lazy = await esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(Object.entries(LAZY).map(([name, { source }]) => [name, source])),
  });
  Object.assign(outputs, lazy.metafile.outputs);
  const lazyFile = {};
  for (const [file, meta] of Object.entries(lazy.metafile.outputs)) {
    if (!meta.entryPoint) continue;
    const name = Object.keys(LAZY).find((key) => path.basename(file).startsWith(`${key}-`));
    // Built apart, it must not hold a module of the app's own: the app would have a second copy of its state.
    const own = Object.keys(meta.inputs).filter((input) => input.startsWith("addin/taskpane/src/"));
    if (own.some((input) => input !== LAZY[name].source)) throw new Error(`${name} imports the app's ${own}`);
    lazyFile[name] = path.basename(file);
  }
  const external = {
    name: "lazily-imported-files",
    setup(build) {
      for (const [name, { specifier }] of Object.entries(LAZY)) {
        build.onResolve({ filter: specifier }, () => ({ path: `./${lazyFile[name]}`, external: true }));
      }
    },
  };
  Object.assign(outputs, (await esbuild.build({ ...common, entryPoints: entries, plugins: [external] }))
    .metafile.outputs);
}

// The output of each entry, and the files each output imports statically (preloaded, so there is no waterfall).
const relative = (file) => path.relative(outdir, path.join(ROOT, file)).split(path.sep).join("/");
const entryOutput = {};
for (const [file, meta] of Object.entries(outputs)) {
  if (meta.entryPoint) entryOutput[path.basename(meta.entryPoint).replace(/\.(js|css)$/, "")] = file;
}

/** What `file` imports, each as the output it names (an external import, MSAL.js's file, by its path). */
function importsOf(file) {
  return (outputs[file]?.imports ?? []).map((imported) => (imported.external
    ? { ...imported, path: path.relative(ROOT, path.resolve(ROOT, path.dirname(file), imported.path)) }
    : imported));
}

function staticImports(file, seen = new Set()) {
  for (const imported of importsOf(file)) {
    if (imported.kind === "import-statement" && !seen.has(imported.path)) {
      seen.add(imported.path);
      staticImports(imported.path, seen);
    }
  }
  return [...seen];
}

// Preloaded too: what the entry imports dynamically (MSAL.js), so its download and compilation run beside the
// app's start instead of after the sign-in configuration has come; the entry still runs without waiting for it.
// Not a language's strings (i18n-da.js): only a pane in that language loads them, so none preloads them.
const LANGUAGE_TABLE = /(^|\/)i18n-[a-z]{2}-/;

function dynamicImports(file) {
  const direct = importsOf(file)
    .filter((imported) => imported.kind === "dynamic-import" && !LANGUAGE_TABLE.test(imported.path));
  return direct.flatMap((imported) => [imported.path, ...staticImports(imported.path)]);
}

const pages = {}; // build.json: what each page loads at start and what it loads lazily (the benchmark reads it)
for (const [page, entry] of Object.entries(PAGES)) {
  const script = entryOutput[entry];
  const start = [script, entryOutput.taskpane, ...staticImports(script)];
  pages[page] = {
    start: start.map(relative),
    lazy: [...new Set(dynamicImports(script))].filter((file) => !start.includes(file)).map(relative),
  };
  const preloads = [...new Set([...staticImports(script), ...dynamicImports(script)])]
    .map((file) => `\n  <link rel="modulepreload" href="${relative(file)}">`).join("");
  let html = readFileSync(path.join(SOURCE, page), "utf8");
  const replace = (from, to) => {
    if (!html.includes(from)) throw new Error(`${page} has no ${from}`);
    html = html.replace(from, to);
  };
  replace('href="taskpane.css"', `href="${relative(entryOutput.taskpane)}"`);
  replace(`<script type="module" src="dist/${entry}.js"></script>`,
    `<script type="module" src="${relative(script)}"></script>${preloads}`);
  writeFileSync(path.join(outdir, page), html);
}

writeFileSync(path.join(outdir, "build.json"), `${JSON.stringify(pages, null, 2)}\n`);

// The send-time guard runs in classic Outlook's JavaScript-only runtime too: one classic script (IIFE), no imports,
// under a stable name, since the backend serves it at /guard/send-guard.js with its configuration first. Its
// browser-runtime page loads it from there, so the page is copied as it is.
await esbuild.build({
  absWorkingDir: ROOT,
  entryPoints: ["addin/taskpane/src/send-guard.js"],
  bundle: true,
  format: "iife",
  target: "es2017",
  platform: "browser",
  minify: true,
  charset: "utf8",
  legalComments: "linked", // licences in a .LEGAL.txt beside each file, named by a comment: not downloaded
  outfile: path.join(outdir, "send-guard.js"),
  logLevel: "warning",
});
copyFileSync(path.join(SOURCE, "send-guard.html"), path.join(outdir, "send-guard.html"));

mkdirSync(path.join(outdir, "assets"), { recursive: true });
for (const name of readdirSync(path.join(SOURCE, "assets"))) {
  copyFileSync(path.join(SOURCE, "assets", name), path.join(outdir, "assets", name));
}

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else yield full;
  }
}

if (!unsplit) {
  for (const file of [...files(outdir)]) {
    if (!COMPRESSIBLE.test(file)) continue;
    const data = readFileSync(file);
    const brotli = brotliCompressSync(data, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: data.length },
    });
    const gzip = gzipSync(data, { level: 9 });
    // A compressed file no smaller than the original is not worth a Content-Encoding.
    if (brotli.length < data.length) writeFileSync(`${file}.br`, brotli);
    if (gzip.length < data.length) writeFileSync(`${file}.gz`, gzip);
  }
}
