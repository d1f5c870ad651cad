/**
 * Drives the snapshot page (examples/browser) in a real browser the way a person does: fill the form, click,
 * wait for the status line, read the tree. And reads a screenshot's pixels (in the browser itself, through a
 * canvas) to tell a drawn tree from a blank or error page.
 */
import type { BrowserContext, Page } from 'playwright-core';

// The callbacks handed to page.evaluate/waitForFunction/$$eval run in the browser (playwright sends their
// source); these are the browser globals they use, declared for this file alone because the Node typecheck has
// no DOM library (a lib reference would give every file in the program the DOM's globals).
interface DomNode {
  dataset: Record<string, string | undefined>;
  parentElement: DomNode | null;
  textContent: string | null;
  value: string;
  classList: { contains(c: string): boolean };
  closest(selector: string): DomNode | null;
  querySelector(selector: string): DomNode | null;
  getAttribute(name: string): string | null;
}
declare const document: { getElementById(id: string): DomNode | null };
declare const createImageBitmap: (blob: Blob) => Promise<{ width: number; height: number }>;
declare const OffscreenCanvas: new (width: number, height: number) => {
  getContext(kind: '2d'): {
    drawImage(image: unknown, x: number, y: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray; width: number; height: number };
  } | null;
};

/** Bound on one user action (a snapshot of a running TCG guest takes seconds on a loaded machine). */
export const ACTION_MS = 120_000;

export interface PageTarget {
  /** Origin of the static server that serves the built page. */
  origin: string;
  /** The WebSocket URL of the bridge (ws-bridge or websockify). */
  bridge: string;
  token?: string;
  domain: string;
}

/** Opens the page and connects; resolves to the page once the domain's tree is shown. */
export async function openPage(context: BrowserContext, t: PageTarget): Promise<Page> {
  const page = await context.newPage();
  page.on('dialog', (d) => void d.accept());
  const q = new URLSearchParams({ bridge: t.bridge, uri: 'qemu:///session', domain: t.domain });
  await page.goto(`${t.origin}/index.html?${q}`);
  if (t.token !== undefined) await page.fill('#token', t.token);
  await page.click('#connect-button');
  await waitStatus(page, /^Connected to /);
  await page.waitForFunction((d) => document.getElementById('domain')!.value === d, t.domain, { timeout: ACTION_MS });
  return page;
}

/** Waits for the status line to match `want`; a failure shown there fails at once with its text. */
export async function waitStatus(page: Page, want: RegExp): Promise<string> {
  await page.waitForFunction(
    ([src, flags]) => {
      const s = document.getElementById('status')!;
      return new RegExp(src, flags).test(s.textContent ?? '') || s.classList.contains('error');
    },
    [want.source, want.flags] as const,
    { timeout: ACTION_MS },
  );
  const text = (await page.textContent('#status')) ?? '';
  if (!want.test(text)) throw new Error(`the page says: ${text}`);
  return text;
}

export async function createSnapshot(page: Page, name: string): Promise<void> {
  await page.fill('#snapshot-name', name);
  await page.click('#create-button');
  await waitStatus(page, new RegExp(`^Created snapshot ${name}\\.$`));
}

export async function revertTo(page: Page, name: string): Promise<void> {
  await page.click(`.node[data-snapshot="${name}"] button[data-action="revert"]`);
  await waitStatus(page, new RegExp(`^Reverted to ${name}\\.$`));
}

export async function deleteSnapshot(page: Page, name: string): Promise<void> {
  await page.click(`.node[data-snapshot="${name}"] button[data-action="delete"]`);
  await waitStatus(page, new RegExp(`^Deleted ${name}\\.$`));
}

/** The tree as the page shows it: each node's name, its parent in the drawing, current mark, state, time. */
export function readTree(page: Page): Promise<{ name: string; parent: string | null; current: boolean; state: string; time: string }[]> {
  return page.$$eval('#snapshot-tree .node', (nodes) =>
    nodes.map((element) => {
      const n = element as unknown as DomNode;
      const li = n.parentElement!;
      const parentNode = li.parentElement!.closest('li')?.querySelector(':scope > .node') ?? null;
      return {
        name: n.dataset.snapshot!,
        parent: parentNode?.dataset.snapshot ?? null,
        current: n.dataset.current === 'true',
        state: n.querySelector('.badge')?.textContent ?? '',
        time: n.querySelector('time')?.getAttribute('datetime') ?? '',
      };
    }),
  );
}

/** What a screenshot's pixels say about the tree (see {@link inspectScreenshot}). */
export interface ScreenshotFacts {
  width: number;
  height: number;
  /** Distinct colours (a blank page has one or two). */
  colours: number;
  /** Pixels of the current node's blue border (#2f6fdb) inside that node's box. */
  currentBorderPixels: number;
  /** Pixels of the tree's connector lines (#9aa6b8) left of each child node. */
  connectorPixels: number;
  /** Pixels of the error colour (#fbe4e2, the failed status line's background). */
  errorPixels: number;
}

type Box = { x: number; y: number; width: number; height: number };

/**
 * Takes a screenshot of `page` and reads its pixels in a blank page of the same browser (a canvas decodes the
 * PNG), looking at the boxes where the page says the current node and the child nodes are.
 */
export async function inspectScreenshot(page: Page, file: string): Promise<ScreenshotFacts> {
  const png = await page.screenshot({ path: file, fullPage: false });
  const current = (await page.locator('.node.current').first().boundingBox())!;
  const children: Box[] = [];
  for (const n of await page.locator('#snapshot-tree ul > li > .node').all()) {
    const b = await n.boundingBox();
    if (b) children.push(b);
  }
  const blank = await page.context().newPage();
  try {
    return await blank.evaluate(
      async ({ data, current, children }) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
        const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(bitmap, 0, 0);
        const img = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
        const near = (i: number, rgb: number[]) => rgb.every((v, k) => Math.abs(img.data[i + k] - v) <= 12);
        const count = (box: { x: number; y: number; width: number; height: number }, rgb: number[]) => {
          let n = 0;
          for (let y = Math.max(0, Math.floor(box.y)); y < Math.min(img.height, box.y + box.height); y++) {
            for (let x = Math.max(0, Math.floor(box.x)); x < Math.min(img.width, box.x + box.width); x++) if (near((y * img.width + x) * 4, rgb)) n++;
          }
          return n;
        };
        const colours = new Set<number>();
        for (let i = 0; i < img.data.length; i += 4) colours.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
        const whole = { x: 0, y: 0, width: img.width, height: img.height };
        return {
          width: img.width,
          height: img.height,
          colours: colours.size,
          currentBorderPixels: count(current, [0x2f, 0x6f, 0xdb]),
          connectorPixels: children.reduce((n, b) => n + count({ x: b.x - 20, y: b.y - 10, width: 20, height: b.height }, [0x9a, 0xa6, 0xb8]), 0),
          errorPixels: count(whole, [0xfb, 0xe4, 0xe2]),
        };
      },
      { data: png.toString('base64'), current, children },
    );
  } finally {
    await blank.close();
  }
}
