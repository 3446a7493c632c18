/**
 * A read-only web view of the log under /log: recent entries, search (entry id, subject SHA-256,
 * issuer), an entry page (the statement decoded with labels named, as scitt inspect shows it; its
 * receipt; the inclusion path from leaf to root; downloads), tree heads and consistency between two
 * sizes. Server-rendered HTML with no script and no external asset, under a strict CSP (html.ts);
 * every string from a statement is escaped.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { diagnose } from '@scitt-actions/core/diagnostic';
import { decodeSign1 } from '@scitt-actions/core/cose';
import { leafHash, nodeHash } from '@scitt-actions/core/merkle';
import { ProofType, decodeConsistencyProof, decodeInclusionProof, readReceiptHeaders, statementEntry } from '@scitt-actions/core/receipt';
import { CONTENT_SECURITY_POLICY, type Html, STYLESHEET, html, page } from './html.ts';
import { type IndexSource, type IndexedEntry, SearchIndex } from './search-index.ts';

type MaybeAsync<T> = T | Promise<T>;

/** What the view reads from the log (TransparencyLog, or any LogService). */
export interface WebLog {
  size(): number;
  receipt(id: string): MaybeAsync<Uint8Array | undefined>;
  statement(id: string): MaybeAsync<Uint8Array | undefined>;
  treeHead(): MaybeAsync<Uint8Array | undefined>;
  consistency(from: number, to: number): MaybeAsync<Uint8Array>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const when = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

function send(reply: FastifyReply, status: number, title: string, body: Html): FastifyReply {
  return reply
    .code(status)
    .header('Content-Security-Policy', CONTENT_SECURITY_POLICY)
    .header('X-Content-Type-Options', 'nosniff')
    .header('Referrer-Policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(page(title, body));
}

function entriesTable(rows: readonly IndexedEntry[]): Html {
  if (rows.length === 0) return html`<p class="muted">No entries.</p>`;
  return html`<table><thead><tr><th>Leaf</th><th>Entry id</th><th>Issuer</th><th>Subject</th><th>Registered</th></tr></thead><tbody>${rows.map(
    (r) => html`<tr><td>${r.leafIndex}</td><td class="hash"><a href="/log/entries/${r.entryId}">${r.entryId.slice(0, 16)}…</a></td><td>${r.iss}</td><td>${r.sub}</td><td>${when(r.registeredAt)}</td></tr>`,
  )}</tbody></table>`;
}

/** The RFC 9162 §2.1.3.2 walk from the leaf hash to the root, one step per proof hash. */
function inclusionSteps(leaf: Uint8Array, leafIndex: number, treeSize: number, path: readonly Uint8Array[]): { side: 'left' | 'right'; sibling: Uint8Array; result: Uint8Array }[] {
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leaf;
  const steps = [];
  for (const p of path) {
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      steps.push({ side: 'left' as const, sibling: p, result: r });
      while (fn % 2 === 0 && fn !== 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = nodeHash(r, p);
      steps.push({ side: 'right' as const, sibling: p, result: r });
    }
    fn >>= 1;
    sn >>= 1;
  }
  return steps;
}

/** `source`: where the search index reads entries (default: the SQLite log in dataDir; PostgresLog.indexSource()). */
export function registerWebView(app: FastifyInstance, o: { log: WebLog; dataDir: string; source?: IndexSource }): void {
  const { log } = o;
  let index: SearchIndex | undefined;
  const search = async () => {
    index ??= new SearchIndex(o.dataDir, o.source);
    await index.catchUp();
    return index;
  };
  app.addHook('onClose', (_app, done) => {
    index?.close();
    done();
  });
  const notFound = (reply: FastifyReply, what: string) => send(reply, 404, 'Not found', html`<div class="notfound"><h1>Not found</h1><p>${what}</p></div>`);

  app.get('/log/style.css', (_req, reply) => reply.type('text/css; charset=utf-8').header('Cache-Control', 'max-age=300').header('X-Content-Type-Options', 'nosniff').send(STYLESHEET));

  app.get('/log', async (_req, reply) => {
    const head = await log.treeHead();
    const th = head ? (decodeSign1(head).payload ? diagnose(head) : undefined) : undefined;
    const size = log.size();
    return send(
      reply,
      200,
      'Transparency log',
      html`<h1>Transparency log</h1><p>Tree size <strong id="tree-size">${size}</strong>. <a href="/tree-head">Signed tree head</a> · <a href="/log/consistency">Consistency between two sizes</a> · <a href="/.well-known/scitt-keys">Service keys</a></p>
${th ? html`<details><summary>Latest signed tree head</summary><pre>${th.text}</pre></details>` : ''}
<h2>Most recent entries</h2>${entriesTable((await search()).recent(25))}`,
    );
  });

  app.get<{ Querystring: { q?: string } }>('/log/search', async (req, reply) => {
    const q = (req.query.q ?? '').trim().slice(0, 2048);
    if (!q) return reply.redirect('/log', 303);
    const lower = q.toLowerCase().replace(/^sha256:/, '');
    const idx = await search();
    if (HEX64.test(lower)) {
      const byId = idx.byEntryId(lower);
      if (byId) return reply.redirect(`/log/entries/${byId.entryId}`, 303);
      const bySubject = idx.bySha256(lower, 100);
      if (bySubject.length) return send(reply, 200, 'Search', html`<h1>Statements about sha256:${lower}</h1>${entriesTable(bySubject)}`);
      return notFound(reply, `No entry has id ${lower}, and no statement is about an artifact with SHA-256 ${lower}.`);
    }
    const byIssuer = idx.byIssuer(q, 100);
    if (byIssuer.length) return send(reply, 200, 'Search', html`<h1>Statements by ${q}</h1>${entriesTable(byIssuer)}`);
    return notFound(reply, `Nothing matches “${q}”: search by entry id (64 hex digits), the SHA-256 of an artifact, or an issuer exactly as it appears in statements.`);
  });

  app.get<{ Params: { id: string } }>('/log/entries/:id', async (req, reply) => {
    const id = req.params.id.toLowerCase();
    if (!HEX64.test(id)) return notFound(reply, 'An entry id is 64 hex digits (the SHA-256 of the registered statement).');
    const [statement, receipt] = [await log.statement(id), await log.receipt(id)];
    if (!statement || !receipt) return notFound(reply, `No entry ${id} on this log.`);
    const s = diagnose(statement);
    const r = diagnose(receipt);
    const claims = (decodeSign1(statement).protectedHeader.get(15) as Map<number, unknown> | undefined) ?? new Map();
    const h = readReceiptHeaders(receipt);
    const proof = decodeInclusionProof((h.vdp.get(ProofType.inclusion) as Uint8Array[])[0]!);
    const leaf = leafHash(statementEntry(statement));
    const steps = inclusionSteps(leaf, proof.leafIndex, proof.treeSize, proof.path);
    const root = steps.length ? steps[steps.length - 1]!.result : leaf;
    return send(
      reply,
      200,
      `Entry ${id.slice(0, 16)}`,
      html`<h1>Entry <span class="hash">${id}</span></h1>
<table><tbody>
<tr><th>Issuer (iss)</th><td id="iss">${String(claims.get(1) ?? '')}</td></tr>
<tr><th>Subject (sub)</th><td id="sub">${String(claims.get(2) ?? '')}</td></tr>
<tr><th>Leaf index</th><td>${proof.leafIndex} of ${proof.treeSize}</td></tr>
<tr><th>Receipt</th><td>kid <span class="hash">${hex(h.kid)}</span>${h.iat !== undefined ? html`, registered ${when(h.iat)}` : ''}</td></tr>
<tr><th>Download</th><td><a href="/entries/${id}/statement" download="${id}.statement.cose">Signed Statement</a> · <a href="/entries/${id}" download="${id}.receipt.cose">Receipt</a></td></tr>
</tbody></table>
<h2>Inclusion path, leaf to root</h2>
<ol class="path"><li>leaf hash <span class="hash">${hex(leaf)}</span></li>${steps.map(
        (st) => html`<li>${st.side === 'left' ? 'H(sibling ‖ node)' : 'H(node ‖ sibling)'} with sibling <span class="hash">${hex(st.sibling)}</span> → <span class="hash">${hex(st.result)}</span></li>`,
      )}<li>root of tree size ${proof.treeSize}: <span class="hash" id="root">${hex(root)}</span> (the receipt's signature covers it)</li></ol>
<h2>Statement: ${s.kind}</h2><pre id="statement">${s.text}</pre>
<h2>Receipt: ${r.kind}</h2><pre id="receipt">${r.text}</pre>`,
    );
  });

  app.get<{ Querystring: { from?: string; to?: string } }>('/log/consistency', async (req, reply) => {
    const size = log.size();
    const form = html`<form method="get" action="/log/consistency"><label>from <input type="text" name="from" value="${req.query.from ?? ''}" size="10"></label> <label>to <input type="text" name="to" value="${req.query.to ?? size}" size="10"></label> <button type="submit">Prove</button></form>`;
    if (req.query.from === undefined) return send(reply, 200, 'Consistency', html`<h1>Consistency between two tree sizes</h1><p>The log has ${size} leaves.</p>${form}`);
    const from = Number(req.query.from);
    const to = req.query.to === undefined || req.query.to === '' ? size : Number(req.query.to);
    let bytes: Uint8Array;
    try {
      bytes = await log.consistency(from, to);
    } catch (e) {
      return send(reply, 400, 'Consistency', html`<h1>Consistency between two tree sizes</h1>${form}<div class="notfound"><p>${(e as Error).message}</p></div>`);
    }
    const proof = decodeConsistencyProof((readReceiptHeaders(bytes).vdp.get(ProofType.consistency) as Uint8Array[])[0]!);
    return send(
      reply,
      200,
      'Consistency',
      html`<h1>Consistency ${proof.treeSize1} → ${proof.treeSize2}</h1>${form}<p><a href="/consistency?from=${from}&amp;to=${to}" download="consistency-${from}-${to}.cose">Download the consistency receipt</a> (signed over the root of size ${to})</p>
<ol>${proof.path.map((p) => html`<li class="hash">${hex(p)}</li>`)}</ol><pre>${diagnose(bytes).text}</pre>`,
    );
  });
}
