// Migrations in the order they run. Generate a new one with `npm run migration:generate -- <Name>`
// after changing an entity; the "schema matches migrations" test fails until you do.
import { Initial1795729238514 } from './1795729238514-Initial';
import { IngestSources1795731509005 } from './1795731509005-IngestSources';
import { Work1795732532438 } from './1795732532438-Work';
import { Models1795732974130 } from './1795732974130-Models';
import { UploadHints1795733116650 } from './1795733116650-UploadHints';
import { Exports1795734313345 } from './1795734313345-Exports';
import { ClaimIndex1795740000000 } from './1795740000000-ClaimIndex';
import { AgePriority1795750000000 } from './1795750000000-AgePriority';
import { UncertaintyPoints1795760000000 } from './1795760000000-UncertaintyPoints';
import { SubmitReadFunction1795770000000 } from './1795770000000-SubmitReadFunction';
import { AuthChangeNotify1795780000000 } from './1795780000000-AuthChangeNotify';
import { TaskPrivacyHold1795790000000 } from './1795790000000-TaskPrivacyHold';
import { ExcludedImagesBlanked1795800000000 } from './1795800000000-ExcludedImagesBlanked';
import { ReadReturns1795810000000 } from './1795810000000-ReadReturns';
import { OriginalUidsOutOfIndex1795820000000 } from './1795820000000-OriginalUidsOutOfIndex';
import { HoldAllByDefault1795830000000 } from './1795830000000-HoldAllByDefault';
import { ScaleIndexes1795840000000 } from './1795840000000-ScaleIndexes';
import { OfferedReads1795850000000 } from './1795850000000-OfferedReads';
import { ManagerQueryIndexes1795860000000 } from './1795860000000-ManagerQueryIndexes';
import { UsernameWithoutCase1795880000000 } from './1795880000000-UsernameWithoutCase';
import { OpenReadsByTask1795890000000 } from './1795890000000-OpenReadsByTask';
import { TransitionsByTask1795900000000 } from './1795900000000-TransitionsByTask';
import { ConsensusScores1795910000000 } from './1795910000000-ConsensusScores';
import { ReviewsByProject1795920000000 } from './1795920000000-ReviewsByProject';

export const MIGRATIONS: Function[] = [Initial1795729238514, IngestSources1795731509005, Work1795732532438, Models1795732974130, UploadHints1795733116650, Exports1795734313345, ClaimIndex1795740000000, AgePriority1795750000000, UncertaintyPoints1795760000000, SubmitReadFunction1795770000000, AuthChangeNotify1795780000000, TaskPrivacyHold1795790000000, ExcludedImagesBlanked1795800000000, ReadReturns1795810000000, OriginalUidsOutOfIndex1795820000000, HoldAllByDefault1795830000000, ScaleIndexes1795840000000, OfferedReads1795850000000, ManagerQueryIndexes1795860000000, UsernameWithoutCase1795880000000, OpenReadsByTask1795890000000, TransitionsByTask1795900000000, ConsensusScores1795910000000, ReviewsByProject1795920000000];
