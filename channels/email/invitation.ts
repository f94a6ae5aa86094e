/**
 * The handover meeting as a calendar invitation (iCalendar METHOD:REQUEST, RFC 5546): the
 * meeting notice's email carries it, so that the people in the handover find the meeting in
 * their calendars and can accept it.
 */
import ical, { ICalAttendeeRole, ICalCalendarMethod } from 'ical-generator';
import type { Notification } from '../../workflows/incident/model';

export interface InvitationContext {
  /** The email's From: the organizer when the meeting names none with an address. */
  from: string;
  /** Where Baton's API is reached (api.publicUrl), for the incident's record. */
  publicUrl?: string;
}

/** `Baton <baton@example.com>` → its name and address; a bare address has no name. */
export function mailbox(address: string): { name?: string; email: string } {
  const match = /^\s*"?([^"<]*?)"?\s*<([^>]+)>\s*$/.exec(address);
  if (!match) return { email: address.trim() };
  const [, name, email] = match as unknown as [string, string, string];
  return { ...(name ? { name } : {}), email: email.trim() };
}

/** Where the incident can be read: its Temporal page (from the notice's links) and Baton's API record. */
export function incidentLinks(
  notification: Notification,
  publicUrl?: string,
): { label: string; url: string }[] {
  const links = notification.links.filter((l) => l.label === 'Incident in Temporal');
  if (publicUrl) {
    links.push({
      label: 'Incident record (handover package)',
      url: `${publicUrl.replace(/\/+$/, '')}/api/v1/incidents/${encodeURIComponent(notification.incidentId)}`,
    });
  }
  return links;
}

/**
 * The invitation for a meeting notice, or undefined for any other notification (and for a
 * meeting whose time cannot be read: the email goes without the invitation rather than not
 * at all). The same invitation goes to every attendee; its UID is the meeting's, so a resent
 * invitation updates the event rather than adding another.
 */
export function meetingInvitation(
  notification: Notification,
  context: InvitationContext,
): string | undefined {
  const { meeting } = notification;
  if (notification.kind !== 'meeting' || !meeting) return undefined;
  const start = new Date(meeting.at);
  if (Number.isNaN(start.getTime()) || !(meeting.minutes > 0)) return undefined;
  const end = new Date(start.getTime() + meeting.minutes * 60_000);

  const from = mailbox(context.from);
  const organizer = meeting.organizer?.email
    ? { name: meeting.organizer.name, email: meeting.organizer.email }
    : { name: from.name ?? 'Baton', email: from.email };
  const links = incidentLinks(notification, context.publicUrl);
  const description = [
    notification.text,
    ...(links.length > 0 ? ['', ...links.map((l) => `${l.label}: ${l.url}`)] : []),
  ].join('\n');

  const calendar = ical({
    prodId: { company: 'Baton', product: 'Baton', language: 'EN' },
    method: ICalCalendarMethod.REQUEST,
  });
  calendar.createEvent({
    id: meeting.uid,
    sequence: 0,
    start,
    end,
    // The meeting notice's subject says so already ("[SEV2] Handover meeting: <title>").
    summary: /handover meeting/i.test(notification.subject)
      ? notification.subject
      : `Handover meeting: ${notification.subject}`,
    description,
    organizer,
    attendees: notification.responders.flatMap((r) =>
      r.email ? [{ name: r.name, email: r.email, rsvp: true, role: ICalAttendeeRole.REQ }] : [],
    ),
    ...(links[0] ? { url: links[0].url } : {}),
  });
  return calendar.toString();
}
