/**
 * One-sentence prompts and replies per request shape. Bodies stay short on purpose: the token counts say how big
 * a request was, the text only has to look like something a person or a program would send.
 */
import type { ShapeKey } from './workloads.ts';

export interface Exchange {
  readonly prompt: string;
  readonly reply: string;
}

export const SYSTEM_PROMPTS: Readonly<Record<ShapeKey, string>> = {
  embed: '',
  classify: 'You are a ticket router. Answer with one label and a priority from P1 to P4.',
  rag: 'Answer only from the provided passages and cite passage numbers.',
  chat: 'You are Acme Support. Be concise, friendly and never promise refunds you cannot issue.',
  generate: 'You write on-brand marketing copy for Acme. Keep it under 60 characters per line.',
  extract:
    'Return strict JSON with the requested invoice fields; use null when a field is missing.',
  summarise: 'Summarise for a busy expert reader. Use short bullet points.',
  agent:
    'You are Claude Code, an interactive CLI tool that helps users with software engineering tasks.',
  'agent-small': 'Write a 5-10 word title for the conversation. Reply with the title only.',
  batch:
    'Summarise the review in one sentence and give its sentiment as positive, neutral or negative.',
  eval: 'Answer the question. Reply with the answer only.',
};

export const EXCHANGES: Readonly<Record<ShapeKey, readonly Exchange[]>> = {
  embed: [
    { prompt: 'wireless noise cancelling headphones under 200 dollars', reply: '' },
    { prompt: 'How do I reset my router admin password?', reply: '' },
    { prompt: 'Return policy for opened electronics bought online', reply: '' },
    { prompt: 'Suspicious PowerShell download cradle on host web-14', reply: '' },
  ],
  classify: [
    {
      prompt: 'The app crashes every time I upload a photo from my gallery.',
      reply: 'bug/mobile P2',
    },
    { prompt: 'I was charged twice for my March subscription.', reply: 'billing P2' },
    { prompt: 'Can you add dark mode to the web dashboard?', reply: 'feature-request P4' },
  ],
  rag: [
    {
      prompt: 'Using passages 1-5, what is the return window for opened electronics?',
      reply: 'Opened electronics can be returned within 15 days with the receipt [2].',
    },
    {
      prompt: 'Using the passages, how do I rotate an API key without downtime?',
      reply: 'Create a second key, deploy it, then revoke the old one [1][4].',
    },
  ],
  chat: [
    {
      prompt: 'My order 48213 arrived damaged, what can I do?',
      reply: 'Sorry about that! I can send a replacement or start a return. Which do you prefer?',
    },
    {
      prompt: 'How do I change the email address on my account?',
      reply:
        'Go to Settings > Profile > Email, enter the new address and confirm the link we send.',
    },
    {
      prompt: 'Is the spring sale discount stackable with my loyalty coupon?',
      reply: 'Yes, one loyalty coupon can be combined with the spring sale price at checkout.',
    },
  ],
  generate: [
    {
      prompt: 'Write three subject lines for the spring sale email to returning customers.',
      reply:
        '1. Welcome back: 20% off is waiting 2. Spring picks, just for you 3. Your cart missed you',
    },
    {
      prompt: 'Draft a 90-character ad for the new trail running shoe.',
      reply: 'Grip the trail, not the pain: meet the Ridge 2, light as air and tough as granite.',
    },
  ],
  extract: [
    {
      prompt: 'Extract supplier, invoice number, date, net amount and VAT from the invoice text.',
      reply:
        '{"supplier":"Nordlicht GmbH","invoice":"RE-2026-0412","net":"1840.00","vat":"349.60"}',
    },
  ],
  summarise: [
    {
      prompt: 'Summarise the termination and liability clauses of the attached master agreement.',
      reply:
        '- Either party may terminate on 90 days notice\n- Liability capped at 12 months of fees',
    },
    {
      prompt: 'Summarise this GuardDuty finding and suggest next steps.',
      reply:
        '- Unusual API calls from a new ASN\n- Rotate the access key and review CloudTrail for 24h',
    },
    {
      prompt: 'Explain the revenue variance against forecast for EMEA in Q1.',
      reply: '- EMEA 4% below plan, driven by delayed renewals in DACH\n- Pipeline recovers in Q2',
    },
  ],
  agent: [
    {
      prompt: 'Refactor the retry logic in src/client.ts to use exponential backoff and add tests.',
      reply:
        'I updated withRetry() to back off exponentially with jitter and added three unit tests.',
    },
    {
      prompt: 'Why does the billing integration test fail on CI but pass locally?',
      reply:
        'The test depends on the local timezone; CI runs in UTC. I pinned TZ in the test setup.',
    },
    {
      prompt: 'Add pagination to the /v1/orders endpoint.',
      reply:
        'Added cursor-based pagination with a limit parameter (default 50) and updated the docs.',
    },
  ],
  'agent-small': [
    {
      prompt: 'Refactor retry logic and add tests',
      reply: 'Exponential backoff for client retries',
    },
    {
      prompt: 'Fix failing billing integration test',
      reply: 'Timezone-dependent billing test fix',
    },
  ],
  batch: [
    {
      prompt: 'Review: The jacket kept me dry on a three-day hike but the zipper feels flimsy.',
      reply: 'Waterproof and comfortable, weak zipper. Sentiment: neutral.',
    },
    {
      prompt: 'Review: Arrived late and the box was crushed, but the blender works great.',
      reply: 'Late, damaged packaging, product works well. Sentiment: neutral.',
    },
  ],
  eval: [
    {
      prompt: 'Eval case 0142: What is the capital of the country whose flag has a maple leaf?',
      reply: 'Ottawa',
    },
    { prompt: 'Eval case 0388: How many prime numbers are there below 20?', reply: '8' },
  ],
};
