/** Header parameter labels (RFC 9052 §3.1, RFC 9360, RFC 9597, RFC 9596, RFC 9995, RFC 9942). */
export const Header = {
  alg: 1,
  crit: 2,
  contentType: 3,
  kid: 4,
  cwtClaims: 15,
  typ: 16,
  x5bag: 32,
  x5chain: 33,
  x5t: 34,
  payloadHashAlg: 258,
  preimageContentType: 259,
  payloadLocation: 260,
  receipts: 394,
  vds: 395,
  vdp: 396,
} as const;

/** CWT claim keys (RFC 8392 §3.1). */
export const Claim = { iss: 1, sub: 2, aud: 3, exp: 4, nbf: 5, iat: 6, cti: 7, cnf: 8 } as const;

export type Label = number | string;
export type HeaderMap = Map<Label, unknown>;

const headerNames = new Map<Label, string>(Object.entries(Header).map(([k, v]) => [v, k]));
const claimNames = new Map<Label, string>(Object.entries(Claim).map(([k, v]) => [v, k]));

export function headerName(label: Label): string | undefined {
  return headerNames.get(label);
}
export function claimName(label: Label): string | undefined {
  return claimNames.get(label);
}

/** Labels this implementation understands, for `crit` (RFC 9052 §3.1). */
export const UNDERSTOOD_LABELS: ReadonlySet<Label> = new Set<Label>(Object.values(Header));
