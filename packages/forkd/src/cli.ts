#!/usr/bin/env node
/**
 * The `forkd` command of the umbrella package: runs `@forkd/server`'s command. Found through that
 * package's own `bin` field rather than a file path, so the server package stays free to lay out
 * its files as it likes, and its exports map need not expose the command.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

const manifest = createRequire(import.meta.url).resolve('@forkd/server/package.json')
const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> }
const command = bin['forkd']
if (command === undefined) throw new Error(`${manifest} has no "forkd" bin`)
// The server's command reads process.argv itself; importing it runs it.
await import(pathToFileURL(join(dirname(manifest), command)).href)
