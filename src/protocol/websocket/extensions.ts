/**
 * Sec-WebSocket-Extensions header syntax (RFC 6455 §9.1):
 *
 *     extension-list  = 1#extension
 *     extension       = extension-token *( ";" extension-param )
 *     extension-param = token [ "=" (token | quoted-string) ]
 *
 * A quoted-string value must be a token once unescaped (§9.1). Empty list
 * elements are skipped, as RFC 9110 §5.6.1 asks of list recipients.
 */

export interface ExtensionOffer {
  /** The extension token, lowercased (tokens are compared case-insensitively). */
  name: string;
  /** [lowercased name, value], in order; `true` for a parameter without a value. */
  params: Array<[string, string | true]>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function isToken(text: string): boolean {
  return TOKEN.test(text);
}

/** Parses one or more Sec-WebSocket-Extensions values (joined with ","); null when malformed. */
export function parseExtensionsHeader(header: string): ExtensionOffer[] | null {
  const scanner = new Scanner(header);
  const offers: ExtensionOffer[] = [];
  for (;;) {
    scanner.skipOws();
    if (scanner.atEnd()) return offers;
    if (scanner.take(',')) continue; // empty list element
    const offer = parseExtension(scanner);
    if (offer === null) return null;
    offers.push(offer);
    scanner.skipOws();
    if (scanner.atEnd()) return offers;
    if (!scanner.take(',')) return null;
  }
}

function parseExtension(scanner: Scanner): ExtensionOffer | null {
  const name = scanner.token();
  if (name === null) return null;
  const offer: ExtensionOffer = { name: name.toLowerCase(), params: [] };
  for (;;) {
    scanner.skipOws();
    if (!scanner.take(';')) return offer;
    scanner.skipOws();
    const param = scanner.token();
    if (param === null) return null;
    scanner.skipOws();
    if (!scanner.take('=')) {
      offer.params.push([param.toLowerCase(), true]);
      continue;
    }
    scanner.skipOws();
    const value = scanner.peek() === '"' ? scanner.quotedString() : scanner.token();
    if (value === null || !isToken(value)) return null;
    offer.params.push([param.toLowerCase(), value]);
  }
}

class Scanner {
  private pos = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string {
    return this.text.charAt(this.pos);
  }

  take(char: string): boolean {
    if (this.text.charAt(this.pos) !== char) return false;
    this.pos++;
    return true;
  }

  skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  token(): string | null {
    const start = this.pos;
    while (!this.atEnd() && TOKEN.test(this.peek())) this.pos++;
    return this.pos === start ? null : this.text.slice(start, this.pos);
  }

  /** A quoted-string (RFC 9110 §5.6.4), unescaped; null when unterminated. */
  quotedString(): string | null {
    this.pos++; // opening quote
    let value = '';
    while (!this.atEnd()) {
      const char = this.text.charAt(this.pos++);
      if (char === '"') return value;
      if (char === '\\') {
        if (this.atEnd()) return null;
        value += this.text.charAt(this.pos++);
      } else {
        value += char;
      }
    }
    return null;
  }
}
