import { describe, expect, it } from 'vitest';
import { directMessageBlocks } from '../../channels/slack/send';
import { notices } from '../../workflows/incident/notices';
import { plainIncident } from './plain-incident';

describe('direct messages that offer a move', () => {
  it('carry the page as escaped text and an Acknowledge button with the phase it was offered in', () => {
    const incident = plainIncident({ input: { title: 'Checkout <!channel> & co' } });
    const page = notices.page(incident.state, incident.policy, ['alice'], 'round 1 of 1, step 1 of 3');
    expect(page.actions).toEqual({ phase: 'triggered', response: 0, steps: ['acknowledge'] });
    const blocks = directMessageBlocks(page) ?? [];
    const text = JSON.stringify(blocks[0]);
    expect(text).toContain('&lt;!channel&gt; &amp; co');
    expect(text).not.toContain('<!channel>');
    expect(blocks[1]).toMatchObject({
      type: 'actions',
      elements: [
        {
          action_id: 'baton:acknowledge',
          value: JSON.stringify({ incident: 'inc-unit', phase: 'triggered', response: 0 }),
        },
      ],
    });
  });

  it('are plain for notices that offer nothing', () => {
    const incident = plainIncident();
    expect(directMessageBlocks(notices.acknowledged(incident.state, incident.policy))).toBeUndefined();
  });
});
