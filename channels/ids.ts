/**
 * The channels Baton speaks, by the name reports, the delivery ledger and metrics give them.
 * A new channel adds its name here and its halves in registry.ts.
 */
export const CHANNEL_IDS = ['slack', 'email', 'teams'] as const;

export type ChannelId = (typeof CHANNEL_IDS)[number];

export function isChannelId(value: unknown): value is ChannelId {
  return typeof value === 'string' && (CHANNEL_IDS as readonly string[]).includes(value);
}
