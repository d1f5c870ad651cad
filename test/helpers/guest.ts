/**
 * One guest per test file, set up and torn down the same way everywhere: {@link useGuest} registers a
 * `beforeAll` that makes a fresh sandbox guest with a unique name, connects to the sandbox daemon over unix and
 * looks the domain up, and an `afterAll` that closes the connection and removes the guest (with its snapshot
 * and checkpoint metadata and its disk folder). The test reads them from the returned fixture once the
 * `beforeAll` ran.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Connect, type Domain } from '../../src/index';
import { createGuest, removeGuest, sandbox, type GuestInfo } from './sandbox';

/** The guest of a test file, valid from its `beforeAll` on. */
export interface GuestFixture {
  /** The guest's (unique) domain name. */
  readonly name: string;
  /** Its disk and folder. */
  readonly guest: GuestInfo;
  /** A connection to the sandbox daemon over unix, closed in `afterAll`. */
  readonly conn: Connect;
  /** The guest's domain, through {@link conn}. */
  readonly dom: Domain;
}

/** Options of {@link useGuest}. */
export interface UseGuestOptions {
  /** Start the guest (default true). */
  start?: boolean;
  /** Runs at the end of the `beforeAll`, with the fixture ready (e.g. to build a snapshot tree). */
  setup?: (g: GuestFixture) => Promise<void>;
  /** Bound of the `beforeAll`, ms (default 120 s). */
  setupTimeout?: number;
}

/** A unique guest name for a test file, e.g. `objects-snap-3fa9c1`. */
export function guestName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Registers the guest's setup and teardown in the calling test file; see the module comment. */
export function useGuest(prefix: string, options: UseGuestOptions = {}): GuestFixture {
  const name = guestName(prefix);
  let guest: GuestInfo | undefined;
  let conn: Connect | undefined;
  let dom: Domain | undefined;
  const ready = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`the guest fixture's ${what} is used before its beforeAll ran (or after it failed)`);
    return v;
  };
  const fixture: GuestFixture = {
    name,
    get guest() {
      return ready(guest, 'guest');
    },
    get conn() {
      return ready(conn, 'connection');
    },
    get dom() {
      return ready(dom, 'domain');
    },
  };
  beforeAll(async () => {
    guest = await createGuest(name, options.start === false ? { start: false } : undefined);
    conn = await connect(sandbox().unixUri);
    dom = await conn.getDomainByName(name);
    await options.setup?.(fixture);
  }, options.setupTimeout ?? 120_000);
  afterAll(async () => {
    await conn?.close();
    await removeGuest(name);
  }, 120_000);
  return fixture;
}
