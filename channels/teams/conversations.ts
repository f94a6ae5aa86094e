/**
 * Where Baton can write to a person in Teams: their personal conversation with the bot,
 * learnt when they install the app (or whenever they write to it), since a bot may only
 * message people who have it. One small file per person under dataDir/teams/people, each
 * written whole (atomically), so a reader never sees half a reference.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMissing, safeName, writeFileAtomic } from '../../activities/files';

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
    try {
      return JSON.parse(await readFile(this.fileFor(aadObjectId), 'utf8')) as PersonalConversation;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }
}
