// The headless Debian Chromium the Web UI tests drive (installed by `npm test`'s bootstrap).
import { chromium, type Browser } from 'playwright-core';

/** Chromium's path: `LIFEBOAT_CHROMIUM`, else Debian's. */
export const CHROMIUM = process.env.LIFEBOAT_CHROMIUM ?? '/usr/bin/chromium';

/** A headless browser with no background traffic (updates, sync, QUIC) to disturb the page. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
