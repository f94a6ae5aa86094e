/**
 * Where Baton can write to a person in Teams: their personal conversation with the bot,
 * learnt when they install the app (or whenever they write to it), since a bot may only
 * message people who have it. One small file per person under dataDir/teams/people, each
 * written whole (atomically), so a reader never sees half a reference.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { isMissing, safeName, writeFileAtomic } from '../../activities/files';
import { TeamsConversationUnreadable } from './errors';

export interface PersonalConversation {
  /** The person's Microsoft Entra object id (responders[].teamsUserId). */
  aadObjectId: string;
  /** Their Teams user id for this bot (`29:…`). */
  userId: string;
  /** The 1:1 conversation's id (`a:…`). */
  conversationId: string;
  /** Where the Bot Connector for their region is reached. */
  serviceUrl: string;
  tenantId: string;
  /** When Baton last heard from this conversation. */
  seenAt: string;
}

export class TeamsConversations {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'teams', 'people');
  }

  private fileFor(aadObjectId: string): string {
    return path.join(this.dir, `${safeName(aadObjectId.toLowerCase())}.json`);
  }

  async remember(conversation: PersonalConversation): Promise<void> {
    await writeFileAtomic(this.fileFor(conversation.aadObjectId), `${JSON.stringify(conversation)}\n`);
  }

  /** The person's conversation, or undefined when they have not installed the app. */
  async personalFor(aadObjectId: string): Promise<PersonalConversation | undefined> {
    let text: string;
    try {
      text = await readFile(this.fileFor(aadObjectId), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    let kept: unknown;
    try {
      kept = JSON.parse(text);
    } catch {
      throw new TeamsConversationUnreadable(aadObjectId, 'its file is not JSON');
    }
    const fields = kept as Partial<Record<keyof PersonalConversation, unknown>>;
    const names: (keyof PersonalConversation)[] = [
      'aadObjectId',
      'userId',
      'conversationId',
      'serviceUrl',
      'tenantId',
    ];
    const missing = names.filter((n) => typeof fields[n] !== 'string' || fields[n] === '');
    if (typeof kept !== 'object' || kept === null || missing.length > 0) {
      throw new TeamsConversationUnreadable(
        aadObjectId,
        `its file lacks ${missing.join(', ') || 'everything'}`,
      );
    }
    return kept as PersonalConversation;
  }

  /** Forgets the person's conversation: they removed the app. */
  async forget(aadObjectId: string): Promise<void> {
    await rm(this.fileFor(aadObjectId), { force: true });
  }
}
