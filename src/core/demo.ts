/**
 * The demo campaign: a realistic draft an operator (or `npm start`) can send to an outbox folder
 * without any data of their own. Recipients are generated deterministically (seeded PRNG), so two
 * demo databases hold the same people; addresses are on RFC 2606 reserved domains only, so nothing
 * could reach a real mailbox even through a real SMTP server.
 */
import { createCampaign } from './campaigns.js';
import type { StagedRecipient, Store } from './store.js';
import type { Campaign, CampaignSettings } from './types.js';

export const DEMO_CAMPAIGN_NAME = 'Aremko Spa — demo';
export const DEFAULT_DEMO_RECIPIENTS = 300;
/** Enough for a load demo; the generator itself has no limit. */
export const MAX_DEMO_RECIPIENTS = 100_000;

const FIRST_NAMES = [
  'José', 'María', 'Sofía', 'Matías', 'Agustín', 'Martín', 'Benjamín', 'Tomás', 'Joaquín', 'Vicente',
  'Ignacio', 'Sebastián', 'Florencia', 'Valentina', 'Catalina', 'Josefa', 'Antonia', 'Fernanda', 'Constanza',
  'Andrés', 'Nicolás', 'Cristóbal', 'Maximiliano', 'Héctor', 'Raúl', 'Inés', 'Ramón', 'Begoña', 'Julián',
  'Rocío', 'Ximena', 'Germán', 'Iván', 'Óscar', 'Mónica', 'Verónica', 'Ángela', 'Lucía', 'María José',
  'Juan Pablo', 'Ana María', 'José Tomás',
];

const SURNAMES = [
  'Muñoz', 'Núñez', 'González', 'Rodríguez', 'Pérez', 'Martínez', 'Sánchez', 'Fernández', 'López', 'Díaz',
  'Gómez', 'Hernández', 'Peña', 'Ibáñez', 'Saldías', 'Araya', 'Contreras', 'Sepúlveda', 'Fuentes', 'Valdés',
  'Gutiérrez', 'Jiménez', 'Álvarez', 'Cárcamo', 'Barría', 'Oyarzún', 'Vásquez', 'Ramírez', 'Ñancupil', 'Millán',
  'Andrade', 'Toledo', 'Cáceres', 'Aguilera', 'Bustamante',
];

const COMUNAS = [
  'Ñuñoa', 'Peñalolén', 'Providencia', 'Las Condes', 'Vitacura', 'Maipú', 'Estación Central', 'Conchalí',
  'Puerto Varas', 'Puerto Montt', 'Frutillar', 'Llanquihue', 'Osorno', 'Valdivia', 'Temuco', 'Concepción',
  'Valparaíso', 'Viña del Mar', 'Pucón', 'Chillán',
];

/** Reserved for documentation (RFC 2606): never a real mailbox. */
const DOMAINS = ['example.com', 'example.net', 'example.org'];

const HTML_TEMPLATE = `<!doctype html>
<html lang="es">
<head><meta charset="utf-8"><title>Aremko Spa</title></head>
<body style="margin:0;padding:0;background:#f4efe6;font-family:Georgia,serif;color:#3b2f25">
  <table role="presentation" width="100%" cellpadding="0" cellspacing="0">
    <tr><td align="center" style="padding:24px">
      <table role="presentation" width="560" cellpadding="0" cellspacing="0" style="background:#ffffff;border-radius:8px">
        <tr><td style="padding:32px">
          <h1 style="margin:0 0 16px;font-size:24px">Hola, {{nombre}}</h1>
          <p>Se vienen tardes frías en el sur, y en Aremko Spa tenemos la tinaja caliente esperándote:
          agua de vertiente a 38 °C, bosque nativo y el lago Llanquihue a la vista.</p>
          <p>Para quienes nos visitan desde {{comuna}}, esta semana la segunda hora de tinaja va por
          nuestra cuenta. Reserva con el código <strong>TINAJA-SUR</strong>.</p>
          <p style="text-align:center;margin:28px 0">
            <a href="https://aremko.cl/reservas" style="background:#7a4b2a;color:#ffffff;padding:12px 24px;border-radius:4px;text-decoration:none">Reservar mi tinaja</a>
          </p>
          <p>Un abrazo,<br>El equipo de Aremko Spa · Puerto Varas</p>
        </td></tr>
        <tr><td style="padding:16px 32px;font-size:12px;color:#8a7b6d">
          Recibes este correo porque nos visitaste o te suscribiste en aremko.cl.
          <a href="{{unsubscribe_url}}" style="color:#8a7b6d">No quiero recibir más correos</a>.
        </td></tr>
      </table>
    </td></tr>
  </table>
</body>
</html>
`;

export const DEMO_SETTINGS: CampaignSettings = {
  name: DEMO_CAMPAIGN_NAME,
  subject: 'Una tarde de tinajas para ti, {{nombre}}',
  from: 'Aremko Spa <reservas@aremko.cl>',
  replyTo: null,
  html: HTML_TEMPLATE,
  text: null, // the text part is made from the html, as most operators' campaigns will do
  batchSize: 50,
  intervalSeconds: 30, // short enough to watch several batches go out
  rate: null,
  window: null,
  timeZone: null,
  unsubscribe: 'https://aremko.cl/baja?email={{email}}',
  maxAttempts: 5,
  retryDelaySeconds: 60,
};

/** mulberry32: a tiny, well-distributed 32-bit PRNG; the same seed gives the same people. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** "María José Núñez" → "maria.jose.nunez": the ASCII local part people actually use. */
function localPart(...names: string[]): string {
  return names
    .join('.')
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase()
    .replace(/\s+/g, '.');
}

/** `count` sample people, each with a unique address; line numbers as in a CSV (header is 1). */
export function* demoRecipients(count: number, seed = 20261127): Generator<StagedRecipient> {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const used = new Set<string>();
  for (let i = 0; i < count; i++) {
    const nombre = pick(FIRST_NAMES);
    const apellido = pick(SURNAMES);
    const comuna = pick(COMUNAS);
    const base = localPart(nombre, apellido);
    const domain = pick(DOMAINS);
    let email = `${base}@${domain}`;
    for (let n = 2; used.has(email); n++) email = `${base}${n}@${domain}`;
    used.add(email);
    yield { line: i + 2, email, fields: { nombre, apellido, comuna } };
  }
}

/** The newest campaign carrying the demo's name, if any. */
export async function findDemoCampaign(store: Store): Promise<Campaign | null> {
  const demos = (await store.listCampaigns()).filter((c) => c.name === DEMO_CAMPAIGN_NAME);
  return demos[demos.length - 1] ?? null;
}

/** Creates the demo draft and imports its recipients the way `import` does (staged, one commit). */
export async function createDemoCampaign(store: Store, count: number, now: number): Promise<{ campaign: Campaign; recipients: number }> {
  const campaign = await createCampaign(store, DEMO_SETTINGS, now);
  const session = await store.beginImport(campaign.id);
  try {
    const chunk: StagedRecipient[] = [];
    for (const r of demoRecipients(count)) {
      chunk.push(r);
      if (chunk.length === 1000) await session.add(chunk.splice(0));
    }
    await session.add(chunk);
    const counts = await session.commit();
    // Suppressed addresses are recipients too (the campaign's total counts them).
    return { campaign, recipients: counts.imported + counts.suppressed };
  } catch (err) {
    await session.abort();
    throw err;
  }
}
