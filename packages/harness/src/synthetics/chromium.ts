// Debian's Chromium, headless, for browser journeys: no sandbox (CI runs as root), nothing
// fetched in the background, and no downloads of a browser (playwright-core ships none).
import { childEnv } from '@drillbook/stage';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.DRILLBOOK_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    env: childEnv(), // never the harness's own environment (a signing key, tokens)
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-default-apps',
    ],
  });
}
