/**
 * The one place that reaches @peculiar/x509: the library as a namespace that loads it (and the
 * Reflect metadata polyfill it needs first) on first use, so that code that never sees a certificate
 * never pays for loading it (lazy-deps.cjs).
 */
import type * as X509 from '@peculiar/x509';
import { peculiarX509 } from '../lazy-deps.cjs';

export const x509: typeof X509 = new Proxy({} as typeof X509, { get: (_, key) => Reflect.get(peculiarX509(), key) });
