// A run record's episodes, measured as `drill verify` measures them: with the SLOs the record
// declares and the formula generation its measures were made with. The report, `drill history`
// and `drill review` read how an episode recovered from here, never from a field a hand can edit.
import { sloTargetsOfRecord } from '../measure/burn.ts';
import { generationOf, measureEpisodes, type Episode } from '../measure/episodes.ts';
import type { RunRecord } from './run-record.ts';

export function episodesOfRecord(record: Pick<RunRecord, 'events' | 'plan' | 'measures' | 'slos'>): Episode[] {
  return measureEpisodes(record.events, record.plan, { slos: sloTargetsOfRecord(record), generation: generationOf(record.measures) });
}
