import { describe, expect, it } from 'vitest';
import { compileTemplates, render, templateFields } from '../../src/core/templates.js';
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
