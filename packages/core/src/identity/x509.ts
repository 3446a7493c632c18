/**
 * The one place that loads @peculiar/x509. It needs a Reflect metadata polyfill evaluated before it
 * (its README, "Reflect Polyfill Required"); ES module imports evaluate in order, so importing the
 * library only through this module guarantees that.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };
