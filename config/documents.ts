/**
 * The incident's documents beside its record (report.md, handover-N.md, lessons.md,
 * communications.md), and the notice customers read. Both layouts are a team's to choose.
 */
import { z } from 'zod';

export const documentsSchema = z
  .strictObject({
    /**
     * A Handlebars file in place of the repository's templates/documents/report.md.hbs (copy
     * it to start). Read at start-up: a file that is missing or does not compile stops the
     * worker with the file named; one that fails on an incident gives way to the built-in one.
     */
    reportTemplate: z.string().min(1).optional(),
    /**
     * A Handlebars file in place of templates/documents/customer-notice.txt.hbs: the text a
     * drafted customer message gets from what is affected, since when, what to expect and
     * the next update. Read when the API starts; a file that does not compile stops it.
     */
    customerNoticeTemplate: z.string().min(1).optional(),
  })
  .prefault({});

export type DocumentsConfig = z.output<typeof documentsSchema>;
