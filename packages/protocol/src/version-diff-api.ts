import { z } from 'zod';

/** Larger files are not read into a patch: they are listed with `truncated: true`. */
export const VERSION_DIFF_MAX_FILE_BYTES = 1024 * 1024;
/** A longer patch is dropped (empty) and the file marked `truncated: true`. */
export const VERSION_DIFF_MAX_PATCH_BYTES = 256 * 1024;

/** One file that differs between two versions' policy folders. */
export const versionDiffFileSchema = z.object({
  /** Relative to the source's policy folder, `/`-separated. */
  path: z.string(),
  status: z.enum(['added', 'removed', 'modified']),
  /** Unified diff (`--- a/<path>` / `+++ b/<path>`, `/dev/null` for a missing side); '' when binary or truncated. */
  patch: z.string(),
  /** The file holds a NUL byte on either side: no text patch. */
  binary: z.literal(true).optional(),
  /** Too large to show (file, patch or the whole answer over budget): no patch. */
  truncated: z.literal(true).optional(),
});
export type VersionDiffFile = z.infer<typeof versionDiffFileSchema>;

const diffSideSchema = z.object({ number: z.int(), sha: z.string() });

/**
 * `GET /v1/versions/{ref}/diff?against=<ref>`: every file of the policy folder that differs
 * between `from` (`against`, default the previous version; null: none, an empty tree) and `to`
 * (`ref`), sorted by path; unchanged files are left out.
 */
export const versionDiffResponseSchema = z.object({
  from: diffSideSchema.nullable(),
  to: diffSideSchema,
  files: z.array(versionDiffFileSchema),
  /** More files differ than one answer lists (MAX 5000): the rest are left out. */
  truncated: z.literal(true).optional(),
});
export type VersionDiffResponse = z.infer<typeof versionDiffResponseSchema>;

/** The query of `GET /v1/versions/{ref}/diff`. */
export const versionDiffQuerySchema = z.strictObject({
  against: z.string().trim().min(1).max(64).optional(),
});
export type VersionDiffQuery = z.infer<typeof versionDiffQuerySchema>;
