/** Email as the notify activity sees it: whom a notification reaches there, and how. */
import type { OutboundChannel } from '../channel';
import { classifySmtpError } from './errors';
import type { Mailer } from './mailer';
import { emailTargets, sendEmail } from './send';
import type { Notification } from '../../workflows/incident/model';

export interface EmailOutboundOptions {
  /** The SMTP transport and sender; without one email's targets are reported undelivered. */
  mailer?: Mailer | undefined;
  /** Hears that an email went as plain text because its template failed. */
  onRenderError?: (notification: Notification, target: string, error: string) => void;
}

export function emailOutbound({ mailer, onRenderError }: EmailOutboundOptions): OutboundChannel {
  return {
    id: 'email',
    targets: emailTargets,
    send: mailer
      ? (target, notification, signal) =>
          sendEmail(mailer, target, notification, signal, {
            ...(onRenderError
              ? { onRenderError: (error) => onRenderError(notification, target, error) }
              : {}),
          })
      : undefined,
    classify: classifySmtpError,
  };
}
