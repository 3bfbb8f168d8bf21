// Plays the user's browser for the headless clients: follows an
// authorization URL with Basic credentials (the interop server's
// /oauth/authorize takes Basic from scripts), reads the consent form,
// submits Approve or Deny with every hidden field it carries (the CSRF
// token included), and returns the redirect the authorization server
// answers with (the client's redirect_uri with code or error, state, iss).
// A remembered consent skips the page: the first answer is the redirect.

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", apos: "'" };
const unescape = (s) => s.replace(/&(amp|lt|gt|quot|#39|apos);/g, (_, e) => entities[e]);

function attribute(tag, name) {
  const m = tag.match(new RegExp(`\\s${name}="([^"]*)"`));
  return m ? unescape(m[1]) : undefined;
}

export async function authorize(authorizationUrl, { user, password, decision = 'approve' }) {
  const auth = 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
  let res = await fetch(authorizationUrl, { headers: { authorization: auth }, redirect: 'manual' });
  if (res.status === 302 || res.status === 303) {
    return { location: res.headers.get('location'), consentPage: false };
  }
  const html = await res.text();
  if (res.status !== 200) {
    throw new Error(`authorization endpoint answered ${res.status}: ${html.slice(0, 300)}`);
  }
  const form = html.match(/<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/);
  if (!form) throw new Error(`no consent form in: ${html.slice(0, 300)}`);
  const body = new URLSearchParams();
  for (const tag of form[2].match(/<input type="hidden"[^>]*>/g) || []) {
    body.append(attribute(tag, 'name'), attribute(tag, 'value'));
  }
  body.append('mcp_consent', decision);
  const action = new URL(unescape(form[1]), authorizationUrl);
  res = await fetch(action, {
    method: 'POST', redirect: 'manual', body,
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (res.status !== 302 && res.status !== 303) {
    throw new Error(`consent submission answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  }
  return { location: res.headers.get('location'), consentPage: true, headers: res.headers };
}

// A loopback listener for the redirect (RFC 8252 §7.3): resolves with the
// query of the first request to /callback.
export function loopbackListener(http) {
  let deliver;
  const received = new Promise((resolve) => { deliver = resolve; });
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (url.pathname !== '/callback') { res.writeHead(404).end(); return; }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('You may close this window.');
    deliver(url.searchParams);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    server, received, redirectUri: `http://127.0.0.1:${server.address().port}/callback`,
  })));
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}
