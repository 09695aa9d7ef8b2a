// Registered ONNX models. Registration validates the manifest and loads the model once to check that its
// tensors match the manifest, so a broken model is refused with the mismatch named instead of failing later
// in a worker. Model files live in the blob store under their checksum.
import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Actor, AuditService, systemActor } from '@contour/audit';
import { Model } from '@contour/db';
import { buildCtStarterModel, CT_STARTER_MANIFEST, ManifestError, ModelManifest, ModelRunner, parseModelManifest } from '@contour/inference';
import { BLOB_STORE, BlobStore } from '@contour/storage';

@Injectable()
export class ModelRegistry {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
    private readonly audit: AuditService,
  ) {}

  /** Validates and stores a model; throws 400 naming every manifest problem or tensor mismatch. */
  async register(file: Buffer, rawManifest: unknown, actor: Actor, builtin = false): Promise<Model> {
    let manifest: ModelManifest;
    try {
      manifest = parseModelManifest(rawManifest);
    } catch (e) {
      if (e instanceof ManifestError) throw new BadRequestException(`The manifest is invalid: ${e.message}`);
      throw e;
    }
    const runner = new ModelRunner({ intraOpNumThreads: 1 });
    try {
      let problems: string[];
      try {
        problems = (await runner.load(file)).check(manifest);
      } catch (e) {
        throw new BadRequestException(`The file is not a model ONNX Runtime can load: ${(e as Error).message}`);
      }
      if (problems.length) throw new BadRequestException(`The model does not match its manifest:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    } finally {
      await runner.release();
    }
    const repo = this.dataSource.getRepository(Model);
    if (await repo.existsBy({ name: manifest.name, version: manifest.version })) throw new ConflictException(`Model ${manifest.name} ${manifest.version} is already registered; bump the manifest's version`);
    const stored = await this.blobs.put(file);
    const model = await repo.save({ name: manifest.name, version: manifest.version, manifest: manifest as unknown as Record<string, unknown>, checksum: stored.key, sizeBytes: String(stored.size), builtin, createdBy: actor.id });
    await this.audit.record(actor, { action: 'model.registered', objectType: 'model', objectId: model.id, details: { name: model.name, version: model.version, checksum: model.checksum, builtin } });
    return model;
  }

  private builtins: Promise<Model> | null = null;

  /**
   * The rule-based CT starter model, generated from code on first start so a new deployment can pre-label CT.
   * Safe to call from several places and processes at once: one registration wins, the others read it.
   */
  ensureBuiltins(): Promise<Model> {
    this.builtins ??= (async () => {
      const find = () => this.dataSource.getRepository(Model).findOneBy({ name: CT_STARTER_MANIFEST.name, version: CT_STARTER_MANIFEST.version });
      const existing = await find();
      if (existing) return existing;
      try {
        return await this.register(Buffer.from(buildCtStarterModel()), CT_STARTER_MANIFEST, systemActor('bootstrap'), true);
      } catch (e) {
        const raced = e instanceof ConflictException || (e as { code?: string }).code === '23505' || (e as { driverError?: { code?: string } }).driverError?.code === '23505';
        if (raced) return (await find())!;
        throw e;
      }
    })().catch((e) => {
      this.builtins = null;
      throw e;
    });
    return this.builtins;
  }

  list() {
    return this.dataSource.getRepository(Model).find({ order: { name: 'ASC', createdAt: 'DESC' } });
  }

  async get(id: string): Promise<Model> {
    const model = await this.dataSource.getRepository(Model).findOneBy({ id });
    if (!model) throw new NotFoundException(`No model ${id}`);
    return model;
  }

  async file(model: Model): Promise<Buffer> {
    return this.blobs.getBuffer(model.checksum);
  }
}
