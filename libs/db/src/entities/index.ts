import { ApiToken } from './api-token.entity';
import { AuditEvent } from './audit-event.entity';
import { DeploymentSetting } from './deployment-setting.entity';
import { Model } from './model.entity';
import { DatasetExport, ExportCase } from './export.entity';
import { Instance, Patient, Series, Study } from './imaging.entity';
import { IngestBatch, IngestItem } from './ingest.entity';
import { AeRoute, DicomWebSource, ReidKey } from './ingest-sources.entity';
import { Project, ProjectMember } from './project.entity';
import { ConsensusResult, ConsensusScore, LabelProtocol, LabelVersion, Review, Task, TaskRead, TaskTransition } from './work.entity';
import { User } from './user.entity';

export * from './api-token.entity';
export * from './audit-event.entity';
export * from './deployment-setting.entity';
export * from './model.entity';
export * from './export.entity';
export * from './imaging.entity';
export * from './ingest.entity';
export * from './ingest-sources.entity';
export * from './project.entity';
export * from './work.entity';
export * from './user.entity';

/** Every entity, in one list, for the DataSource and the migration drift check. */
export const ENTITIES = [DeploymentSetting, User, ApiToken, Project, ProjectMember, AuditEvent, IngestBatch, IngestItem, Patient, Study, Series, Instance, AeRoute, DicomWebSource, ReidKey, LabelProtocol, Task, TaskRead, LabelVersion, ConsensusResult, ConsensusScore, Review, TaskTransition, Model, DatasetExport, ExportCase];
