/**
 * The notice customers read, drafted from a template a team can change
 * (templates/documents/customer-notice.txt.hbs by default). The API fills it when someone
 * drafts a message, so the manager who approves sees exactly the text that will be sent.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';

export const CUSTOMER_NOTICE_TEMPLATE = fileURLToPath(
  new URL('../templates/documents/customer-notice.txt.hbs', import.meta.url),
);

/** What a customer notice says; every value is plain text. */
export interface CustomerNoticeFields {
  service: string;
  title: string;
  affected: string;
  since: string;
  expectation: string;
  nextUpdate: string;
}

export type CustomerNotice = (fields: CustomerNoticeFields) => string;

/**
 * Reads and compiles the template once. A template that cannot be read or compiled fails
 * here, when the API starts, with the file named, not when someone drafts a message.
 */
export function loadCustomerNotice(file: string = CUSTOMER_NOTICE_TEMPLATE): CustomerNotice {
  let render: HandlebarsTemplateDelegate<CustomerNoticeFields>;
  try {
    // Plain text for customers: nothing is HTML-escaped, and unknown names are errors.
    render = Handlebars.compile<CustomerNoticeFields>(readFileSync(file, 'utf8'), {
      noEscape: true,
      strict: true,
    });
    render({ service: '', title: '', affected: '', since: '', expectation: '', nextUpdate: '' });
  } catch (err) {
    throw new Error(`customer notice template ${file}: ${(err as Error).message}`, { cause: err });
  }
  return (fields) => `${render(fields).trim()}\n`;
}
