#!/usr/bin/env node
// A native-solc look-alike served by the npm `solc` package (solcjs), so that py-solc-x, brownie and
// slither work without downloading a compiler binary. It implements the two calls they make:
//   solc --version
//   solc --standard-json [--allow-paths P] [--base-path P] [--include-path P] < input.json
// Imports that the JSON input does not carry are read from disk, resolved against the base path,
// the include paths and the working directory, and must lie under an allowed path.
'use strict';
const fs = require('fs');
const path = require('path');

const repoRoot = path.resolve(__dirname, '..');
const solc = require(require.resolve('solc', { paths: [repoRoot, process.cwd()] }));

function parseArgs(argv) {
  const opts = { standardJson: false, version: false, allowPaths: [], basePath: null, includePaths: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') ? arg.split(/=(.*)/s, 2) : [arg, undefined];
    const value = () => (inline !== undefined ? inline : argv[++i]);
    switch (flag) {
      case '--version': opts.version = true; break;
      case '--standard-json': opts.standardJson = true; break;
      case '--allow-paths': opts.allowPaths.push(...value().split(',').filter(Boolean)); break;
      case '--base-path': opts.basePath = value(); break;
      case '--include-path': opts.includePaths.push(value()); break;
      default:
        process.stderr.write(`solc shim: unsupported argument ${arg} (only --version and --standard-json)\n`);
        process.exit(1);
    }
  }
  return opts;
}

function importReader(opts) {
  const roots = [opts.basePath, ...opts.includePaths, process.cwd()].filter(Boolean).map((p) => path.resolve(p));
  const allowed = [...roots, ...opts.allowPaths.map((p) => path.resolve(p))];
  const isAllowed = (file) => allowed.some((dir) => file === dir || file.startsWith(dir + path.sep));
  return (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((root) => path.join(root, importPath));
    for (const file of candidates) {
      if (fs.existsSync(file) && fs.statSync(file).isFile()) {
        if (!isAllowed(path.resolve(file))) return { error: `File outside of allowed directories: ${file}` };
        return { contents: fs.readFileSync(file, 'utf8') };
      }
    }
    return { error: `File not found: ${importPath}` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    const version = solc.version().replace('Emscripten.clang', 'Linux.g++');
    process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${version}\n`);
    return;
  }
  if (!opts.standardJson) {
    process.stderr.write('solc shim: pass --version or --standard-json\n');
    process.exit(1);
  }
  const input = fs.readFileSync(0, 'utf8');
  process.stdout.write(solc.compile(input, { import: importReader(opts) }));
}

main();
