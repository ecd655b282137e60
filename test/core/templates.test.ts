import { describe, expect, it } from 'vitest';
import { compileTemplates, render, TemplateError, templateFields } from '../../src/core/templates.js';
import { UserError } from '../../src/core/types.js';

const nasty = `<b>Tom & "Jerry"</b>`;

describe('render', () => {
  it('escapes {{field}} in the html part and leaves {{{field}}} raw', () => {
    const t = compileTemplates({ subject: 's', html: '<p>{{x}}</p><div>{{{x}}}</div>', text: null });
    const { html } = render(t, { x: nasty });
    expect(html).toBe('<p>&lt;b&gt;Tom &amp; &quot;Jerry&quot;&lt;/b&gt;</p><div><b>Tom & "Jerry"</b></div>');
  });

  it('never escapes the subject or the text template', () => {
    const t = compileTemplates({ subject: 'Para {{x}}', html: '<p>hi</p>', text: 'Hola {{x}} y {{{x}}}' });
    const out = render(t, { x: nasty });
    expect(out.subject).toBe(`Para ${nasty}`);
    expect(out.text).toBe(`Hola ${nasty} y ${nasty}`);
  });

  it('keeps accents intact in every part', () => {
    const t = compileTemplates({ subject: 'Una tarde de tinajas para ti, {{nombre}}', html: '<p>{{nombre}} de {{comuna}}</p>', text: null });
    const out = render(t, { nombre: 'José Núñez', comuna: 'Ñuñoa' });
    expect(out.subject).toBe('Una tarde de tinajas para ti, José Núñez');
    expect(out.html).toBe('<p>José Núñez de Ñuñoa</p>');
    expect(out.text).toBe('José Núñez de Ñuñoa');
  });

  it('strips CR and LF that a field would carry into the subject', () => {
    const t = compileTemplates({ subject: 'Hola {{nombre}}', html: '<p>x</p>', text: null });
    const { subject } = render(t, { nombre: 'Ana\r\nBcc: evil@x.com\n' });
    expect(subject).not.toMatch(/[\r\n]/);
    expect(subject).toBe('Hola Ana Bcc: evil@x.com');
  });

  it('makes the text part from the html when there is no text template', () => {
    const t = compileTemplates({
      subject: 's',
      html: '<h1>Aremko</h1><p>Hola <b>{{nombre}}</b>,</p><p>reserva <a href="https://aremko.cl/r">aquí</a></p><img src="x.png" alt="logo">',
      text: null,
    });
    const { text } = render(t, { nombre: 'María' });
    expect(text).toContain('Hola María,');
    expect(text).toContain('reserva aquí [https://aremko.cl/r]');
    expect(text).not.toMatch(/<|logo|x\.png/);
  });

  it('uses the text template, not the html, when there is one', () => {
    const t = compileTemplates({ subject: 's', html: '<p>from html</p>', text: 'from text {{nombre}}' });
    expect(render(t, { nombre: 'Inés' }).text).toBe('from text Inés');
  });
});

describe('templateFields', () => {
  it('finds plain, raw, nested-path and block-parameter fields', () => {
    expect(templateFields('{{nombre}} {{{firma}}} {{#if comuna}}en {{comuna}}{{else}}{{region}}{{/if}} {{#unless vip}}x{{/unless}} {{perfil.edad}}')).toEqual([
      'comuna',
      'firma',
      'nombre',
      'perfil',
      'region',
      'vip',
    ]);
  });

  it('ignores unsubscribe_url, helpers, @data and this', () => {
    expect(templateFields('{{unsubscribe_url}} {{#each items}}{{@index}} {{this}}{{/each}} {{lookup . "x"}}')).toEqual(['items']);
  });

  it('reports names as written, since lookups are case-sensitive', () => {
    expect(templateFields('{{Nombre}}')).toEqual(['Nombre']);
    const t = compileTemplates({ subject: '{{Nombre}}', html: 'x', text: null });
    expect(render(t, { nombre: 'José' }).subject).toBe('');
  });

  it('collects the fields of subject, html and text together', () => {
    const t = compileTemplates({ subject: '{{a}}', html: '{{b}} {{unsubscribe_url}}', text: '{{c}} {{a}}' });
    expect(t.fields).toEqual(['a', 'b', 'c']);
  });
});

describe('syntax errors', () => {
  const cases = [
    ['subject', { subject: 'Hola {{nombre', html: 'x', text: null }],
    ['html', { subject: 's', html: '<p>{{#if vip}}VIP</p>', text: null }],
    ['html', { subject: 's', html: '{{#if a}}x{{/each}}', text: null }],
    ['text', { subject: 's', html: 'x', text: 'Hola {{/nombre}}' }],
  ] as const;

  it.each(cases)('name the %s template', (which, t) => {
    let error: unknown;
    try {
      compileTemplates(t);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(new RegExp(`^${which} template: `));
    // One line an operator can act on, not Handlebars' four-line dump.
    expect((error as Error).message).not.toContain('\n');
  });

  it('say where and what for an unclosed block', () => {
    expect(() => compileTemplates({ subject: 's', html: '<p>{{#if vip}}VIP</p>', text: null })).toThrow(
      /html template: Parse error on line 1 near ".*": unexpected end of template/,
    );
  });
});

describe('templates that would fail every recipient are refused at compile (issue 8 item 3)', () => {
  const refused: [string, { subject: string; html: string; text: string | null }, RegExp][] = [
    ['a partial', { subject: 's', html: '<p>Hola</p>\n{{> firma}}', text: null }, /^html template: line 2: "\{\{> firma\}\}" is a partial; partials are not supported/],
    ['a partial block', { subject: 's', html: 'x', text: '{{#> layout}}x{{/layout}}' }, /^text template: line 1: .* is a partial/],
    ['an inline partial (decorator)', { subject: 's', html: '{{#*inline "x"}}y{{/inline}}', text: null }, /^html template: line 1: .* is a decorator/],
    ['an unknown helper', { subject: 's', html: '<p>{{nohelper nombre}}</p>', text: null }, /^html template: line 1: "\{\{nohelper nombre\}\}" calls an unknown helper "nohelper" \(helpers: if, unless, each, with, lookup; a field is written \{\{name\}\}\)$/],
    ['an unknown block helper', { subject: 's', html: '{{#repeat 3}}x{{/repeat}}', text: null }, /^html template: line 1: .* calls an unknown helper "repeat"/],
    ['an unknown helper in the subject', { subject: 'Hola {{upper nombre}}', html: 'x', text: null }, /^subject template: line 1: .* unknown helper "upper"/],
    ['an unknown helper in a sub-expression', { subject: 's', html: '{{#if (gt edad 18)}}x{{/if}}', text: null }, /^html template: line 1: .* unknown helper "gt"/],
    ['a hash argument to a field', { subject: 's', html: '{{nombre default="amigo"}}', text: null }, /unknown helper "nombre"/],
    ['the log helper', { subject: 's', html: '{{log nombre}}', text: null }, /^html template: line 1: .* uses the log helper/],
    ['#if without its argument', { subject: 's', html: '{{#if}}x{{/if}}', text: null }, /^html template: it cannot be rendered: #if requires exactly one argument$/],
    ['a subject over 1 KiB', { subject: 'x'.repeat(1025), html: 'x', text: null }, /^subject template: it is 1025 bytes \(1 KiB\); at most 1024 \(1 KiB\)/],
    ['an html template over 512 KiB', { subject: 's', html: 'é'.repeat(262_145), text: null }, /^html template: it is 524290 bytes \(512 KiB\); at most 524288 \(512 KiB\): every message is built from it$/],
    ['a 5 MB html template', { subject: 's', html: '<p>x</p>'.repeat(655_360), text: null }, /^html template: it is 5242880 bytes \(5\.0 MiB\); at most 524288 \(512 KiB\)/],
    ['a text template over 512 KiB', { subject: 's', html: 'x', text: 'y'.repeat(512 * 1024 + 1) }, /^text template: it is 524289 bytes/],
  ];

  it.each(refused)('refuses %s, naming the template and what is wrong on one line', (_what, t, message) => {
    let error: unknown;
    try {
      compileTemplates(t);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(TemplateError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('accepts what renders: fields, sections over a field, the helpers, @data, paths, at the size limits', () => {
    const html = '{{#nombre}}Hola {{.}}{{/nombre}} {{#if vip}}VIP{{else}}-{{/if}} {{#each items}}{{@index}}{{/each}} {{lookup this "x"}} {{#with perfil}}{{edad}}{{/with}} {{../a}} {{unsubscribe_url}}';
    const t = compileTemplates({ subject: 'x'.repeat(1024), html: html + ' '.repeat(512 * 1024 - html.length), text: 'y'.repeat(512 * 1024) });
    expect(render(t, { nombre: 'Ana', vip: '' }).html.startsWith('Hola Ana -')).toBe(true);
  });

  it('keeps rendering a template at the size limit within reason (one compile, then per message)', () => {
    // ~6,000 paragraphs, each with a field: the worst kind of html for the text part.
    const para = '<p>Hola {{nombre}}, te esperamos en Aremko: tinajas, masajes y cabañas junto al río.</p>\n';
    const html = para.repeat(Math.floor((512 * 1024) / Buffer.byteLength(para)));
    const t = compileTemplates({ subject: 's', html, text: null });
    const started = performance.now();
    const out = render(t, { nombre: 'José' });
    const perMessage = performance.now() - started;
    expect(out.text).toContain('Hola José, te esperamos');
    // Measured ~0.4 s on a shared 2-core machine (html-to-text is most of it); 5 MB took 20 s.
    expect(perMessage).toBeLessThan(5_000);
  });

  it('turns an error while rendering one recipient into a one-line TemplateError', () => {
    const t = compileTemplates({ subject: 's', html: '{{#each items}}{{this}}{{/each}}', text: null });
    const items = { get length(): number { throw new Error('boom\nsecond line'); } };
    expect(() => render(t, { items } as never)).toThrow(/^html template: it cannot be rendered for this recipient: /);
  });
});
