// The voxel grid a task's masks live on, and the labels its protocol allows. Masks are tied to this grid:
// a mask for another grid is refused with both sizes named.
import { BadRequestException, ConflictException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager, In } from 'typeorm';
import { Instance, LabelProtocol, Series, Task } from '@contour/db';
import { AnswerError, checkQuestionAnswers, checkShapes, decodeLabelMap, Grid, LabelMapError, QuestionSpec, Shape, ShapeContext, ShapeError, SHAPES_KEY } from '@contour/workflow';

export interface TaskGridInfo {
  seriesId: string;
  dims: [number, number, number];
  spacing: [number, number, number];
  affineLps?: number[][];
  /** For image and frame tasks: which instance / frames of the series the grid covers. */
  instanceId?: string | null;
  frameStart?: number | null;
  frameEnd?: number | null;
}

/**
 * Every method takes the caller's EntityManager when it runs inside a transaction: its reads then use the
 * transaction's connection. Taking a second pooled connection while holding one starves the pool under load
 * (with as many submissions in flight as the pool has connections, each waits for a connection none will free).
 */
@Injectable()
export class TaskGrid {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private manager(m?: EntityManager): EntityManager {
    return m ?? this.dataSource.manager;
  }

  /** Protocol versions never change (an edit makes a new version), so each is read from the database once per process. */
  private readonly protocols = new Map<string, Promise<LabelProtocol | null>>();

  /** The protocol version the task was made under (null without one). */
  protocolOf(task: Pick<Task, 'projectId' | 'protocolVersion'>, m?: EntityManager): Promise<LabelProtocol | null> {
    if (task.protocolVersion === null) return Promise.resolve(null);
    const key = `${task.projectId}/${task.protocolVersion}`;
    let found = this.protocols.get(key);
    if (!found) {
      if (this.protocols.size >= 1000) this.protocols.delete(this.protocols.keys().next().value!);
      found = this.manager(m).getRepository(LabelProtocol).findOneBy({ projectId: task.projectId, version: task.protocolVersion });
      // A version that does not exist yet is not remembered, nor is a failed read.
      found.then((p) => !p && this.protocols.delete(key), () => this.protocols.delete(key));
      this.protocols.set(key, found);
    }
    return found;
  }

  /** The grid masks of `task` live on; pass its first series when already loaded. */
  async gridOf(task: Task, firstSeries?: Series, m?: EntityManager): Promise<TaskGridInfo> {
    if (task.kind === 'view-group') throw new ConflictException('View-group tasks take answers (boxes, points, classifications) per view, not one mask; send answers');
    const series = firstSeries ?? (await this.manager(m).getRepository(Series).findOneByOrFail({ id: task.seriesIds[0] }));
    const geometry = series.geometry as { dims: [number, number, number]; spacing: [number, number, number]; affineLps?: number[][] } | null;
    if (task.kind === 'series') {
      if (!geometry) throw new ConflictException('The series has no geometry yet (still being checked); try again in a moment');
      return { seriesId: series.id, dims: geometry.dims, spacing: geometry.spacing, affineLps: geometry.affineLps };
    }
    const instance = await this.manager(m).getRepository(Instance).findOneByOrFail({ id: task.instanceId! });
    const ps = instance.pixelSpacing ?? [1, 1];
    const frames = task.kind === 'frames' ? task.frameEnd! - task.frameStart! + 1 : instance.numberOfFrames;
    return { seriesId: series.id, dims: [instance.columns ?? 0, instance.rows ?? 0, frames], spacing: [ps[1] ?? 1, ps[0] ?? 1, 1], instanceId: instance.id, frameStart: task.frameStart, frameEnd: task.frameEnd };
  }

  async allowedLabels(task: Task, m?: EntityManager): Promise<number[]> {
    if (task.protocolVersion === null) return Array.from({ length: 255 }, (_, i) => i + 1);
    const protocol = await this.protocolOf(task, m);
    return ((protocol?.definition.labels as { id: number }[] | undefined) ?? []).map((l) => l.id);
  }

  /**
   * What a task's boxes, points and polygons are checked against: the protocol's labels and annotation types,
   * and the task's images (the mask grid for series, image and frame tasks; every series of a view group).
   */
  async shapeContext(task: Task, m?: EntityManager): Promise<ShapeContext> {
    const protocol = await this.protocolOf(task, m);
    const definition = (protocol?.definition ?? {}) as { labels?: { id: number }[]; annotationTypes?: { kind: string }[] };
    const labels = protocol ? (definition.labels ?? []).map((l) => l.id) : Array.from({ length: 255 }, (_, i) => i + 1);
    const annotationTypes = protocol ? (definition.annotationTypes ?? []).map((t) => t.kind) : ['bounding-box', 'point', 'polygon'];
    if (task.kind !== 'view-group') {
      const grid = await this.gridOf(task, undefined, m);
      return { labels, annotationTypes, images: [{ id: grid.seriesId, dims: grid.dims }] };
    }
    const series = await this.manager(m).getRepository(Series).findBy({ id: In(task.seriesIds) });
    const images = task.seriesIds.map((id) => {
      const dims = (series.find((s) => s.id === id)?.geometry as { dims?: [number, number, number] } | null)?.dims;
      if (!dims) throw new ConflictException(`Series ${id} of this view group has no geometry yet (still being checked); try again in a moment`);
      return { id, dims };
    });
    return { labels, annotationTypes, images };
  }

  /**
   * The answers checked against the protocol (400 naming each bad answer: a question the protocol lacks, a
   * value that is not one of its choices; each bad shape; with `complete`, each required question left
   * unanswered), with each shape's image filled in.
   */
  async checkAnswers(task: Task, answers: Record<string, unknown> | undefined, options: { complete?: boolean; m?: EntityManager } = {}): Promise<Record<string, unknown> | undefined> {
    if (!answers && !options.complete) return answers;
    // Both checks run, so one refusal names every problem: bad answers, missing answers and bad shapes.
    const problems: string[] = [];
    if (task.protocolVersion !== null) {
      const protocol = await this.protocolOf(task, options.m);
      const questions = ((protocol?.definition.annotationTypes ?? []) as (QuestionSpec & { kind: string })[]).filter((t) => t.kind === 'classification');
      try {
        checkQuestionAnswers(answers ?? {}, questions, { complete: options.complete });
      } catch (e) {
        if (!(e instanceof AnswerError)) throw e;
        problems.push(e.message);
      }
    }
    let shapes: Shape[] | undefined;
    if (answers && SHAPES_KEY in answers) {
      try {
        shapes = checkShapes(answers[SHAPES_KEY], await this.shapeContext(task, options.m));
      } catch (e) {
        if (!(e instanceof ShapeError)) throw e;
        problems.push(e.message);
      }
    }
    if (problems.length) throw new BadRequestException(problems.join('. '));
    if (!answers || !shapes) return answers;
    return { ...answers, [SHAPES_KEY]: shapes };
  }

  async decodeForTask(task: Task, mask: Buffer, m?: EntityManager): Promise<{ map: Uint8Array; grid: TaskGridInfo; allowedLabels: number[] }> {
    const grid = await this.gridOf(task, undefined, m);
    let map: Uint8Array;
    try {
      map = decodeLabelMap(mask, grid.dims);
    } catch (e) {
      // Bad input, not a conflict with the task's state: a 400 (it was a 409).
      if (e instanceof LabelMapError) throw new BadRequestException(`The mask does not fit this task: ${e.message}`);
      throw e;
    }
    return { map, grid, allowedLabels: await this.allowedLabels(task, m) };
  }

  gridForConsensus(g: TaskGridInfo): Grid {
    return { dims: g.dims, spacing: g.spacing };
  }
}
