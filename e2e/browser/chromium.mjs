// Debian's Chromium for the browser tests, launched the one way they all need it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

/** The browser binary: $CHROMIUM_PATH, or Debian's (scripts/setup.sh installs it). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium; fails clearly when it is not installed. */
export async function launchChromium() {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: make test installs it (scripts/setup.sh)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    // The machine's network is closed: keep Chromium from reaching out at all.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}
